"""The sequencer: adds committed audit rows to the tree in batches and signs a checkpoint.

One batch is one transaction:
1. lock the head row (LogHead) with SKIP LOCKED — a second sequencer running at the same time
   finds it taken and returns at once, so each row is integrated exactly once (the unique
   (source, row_id) of LogLeaf is the backstop);
2. take up to `batch_size` queued rows (LogPending, oldest first) and read their content;
3. append their leaves to the compact range kept on the head (O(log n) per leaf, never a
   recomputation of the tree), storing each leaf and each perfect subtree it completes;
4. sign a checkpoint for the new size and root, and remove the queued rows.
User transactions never wait for this: they only insert rows (and their queue rows).
"""

import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from lib.merkle import HASH_SIZE, CompactRange
from lib.signed_note import Checkpoint as CheckpointNote
from workflows.models import Checkpoint, LogHead, LogLeaf, LogNode, LogPending
from workflows.transparency import keys
from workflows.transparency.leaves import entry_of, hash_of, row_values

logger = logging.getLogger("workflows.transparency")


@dataclass(frozen=True)
class BatchResult:
    integrated: int
    size: int
    busy: bool = False  # another sequencer held the head


def _edge(head: LogHead) -> list[bytes]:
    raw = bytes(head.edge)
    return [raw[i : i + HASH_SIZE] for i in range(0, len(raw), HASH_SIZE)]


def checkpoint_sign(*, size: int, root: bytes) -> Checkpoint:
    signer = keys.log_signer()
    note = CheckpointNote(keys.log_origin(), size, root).text
    return Checkpoint.objects.create(size=size, root=root, note=signer.sign(note), key_id=signer.verifier.key_id.hex())


Leaf = tuple[int, str, int, bytes]  # index, source, row id, leaf hash
Node = tuple[int, int, bytes]  # level, index, hash
LEAF_INSERT = (
    "INSERT INTO workflows_logleaf (index, source, row_id, hash, integrated_at)"
    " SELECT i, s, r, h, now() FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::bytea[]) AS t(i, s, r, h)"
)
NODE_INSERT = (
    "INSERT INTO workflows_lognode (level, index, hash)"
    " SELECT l, i, h FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[]) AS t(l, i, h)"
)


def _store(leaves: list[Leaf], nodes: list[Node]) -> None:
    if connection.vendor != "postgresql":
        LogLeaf.objects.bulk_create([LogLeaf(index=i, source=s, row_id=r, hash=h) for i, s, r, h in leaves])
        LogNode.objects.bulk_create([LogNode(level=level, index=i, hash=h) for level, i, h in nodes])
        return
    # One statement per table over arrays: building model objects and the ORM's per-row SQL
    # was most of a batch's time.
    with connection.cursor() as cursor:
        cursor.execute(LEAF_INSERT, [list(column) for column in zip(*leaves, strict=True)])
        if nodes:
            cursor.execute(NODE_INSERT, [list(column) for column in zip(*nodes, strict=True)])


def log_batch_integrate(*, batch_size: int | None = None) -> BatchResult:
    """Integrates one batch of queued rows; see the module's docstring."""
    batch_size = batch_size or settings.TRANSPARENCY_BATCH_SIZE
    with transaction.atomic():
        LogHead.objects.bulk_create([LogHead(id=1)], ignore_conflicts=True)  # after a flush, too
        head = LogHead.objects.select_for_update(skip_locked=True).filter(id=1).first()
        if head is None:
            return BatchResult(0, 0, busy=True)
        queued = list(LogPending.objects.order_by("id").values_list("id", "source", "row_id")[:batch_size])
        if not queued:
            return BatchResult(0, head.size)
        by_source: dict[str, list[int]] = defaultdict(list)
        for _pending_id, source, row_id in queued:
            by_source[source].append(row_id)
        entries: dict[tuple[str, int], bytes] = {}
        for source, row_ids in by_source.items():
            for values in row_values(source, row_ids):
                entries[(source, values["id"])] = entry_of(source, values)
        tree = CompactRange(head.size, _edge(head))
        leaves: list[Leaf] = []
        nodes: list[Node] = []
        for _pending_id, source, row_id in queued:
            entry = entries.get((source, row_id))
            if entry is None:
                # Cannot happen through the application (rows are append-only and queued in
                # their own transaction); verify_audit reports such a row as removed.
                logger.error("transparency log: queued %s row %s no longer exists; not integrated", source, row_id)
                continue
            created = tree.append(hash_of(entry))
            leaves.append((created[0][1], source, row_id, created[0][2]))
            nodes.extend(created[1:])
        _store(leaves, nodes)
        with connection.cursor() as cursor:
            table = LogPending._meta.db_table
            if connection.vendor == "postgresql":
                cursor.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", [[q[0] for q in queued]])  # noqa: S608
            else:
                LogPending.objects.filter(id__in=[q[0] for q in queued]).delete()
        head.size, head.edge, head.updated_at = tree.size, b"".join(tree.hashes), timezone.now()
        head.save(update_fields=["size", "edge", "updated_at"])
        if leaves:
            checkpoint_sign(size=tree.size, root=tree.root())
        return BatchResult(len(leaves), tree.size)


def log_integrate(*, batch_size: int | None = None, max_seconds: float | None = None) -> int:
    """Integrates batches until the queue is empty (or max_seconds pass); the number of rows."""
    batch_size = batch_size or settings.TRANSPARENCY_BATCH_SIZE
    deadline = time.monotonic() + (max_seconds if max_seconds is not None else settings.TRANSPARENCY_MAX_RUN_SECONDS)
    total = 0
    while True:
        result = log_batch_integrate(batch_size=batch_size)
        total += result.integrated
        if result.busy or result.integrated < batch_size or time.monotonic() >= deadline:
            return total


def log_lag() -> dict[str, object]:
    """For /healthz: the age of the oldest row not yet in the log, and the tree's size."""
    oldest = LogPending.objects.order_by("id").values_list("created_at", flat=True).first()
    lag = 0.0 if oldest is None else max(0.0, (timezone.now() - oldest).total_seconds())
    size = LogHead.objects.filter(id=1).values_list("size", flat=True).first() or 0
    return {"transparency_lag_seconds": round(lag, 1), "transparency_tree_size": size}
