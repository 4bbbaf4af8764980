"""The sequencer: adds committed audit rows to the tree in batches and signs a checkpoint.

One batch is one transaction:
1. lock the head row (LogHead) with SKIP LOCKED — a second sequencer running at the same time
   finds it taken and returns at once, so each row is integrated exactly once (the unique
   (source, row_id) of LogLeaf is the backstop);
2. take up to `batch_size` queued rows off the queue (LogPending, oldest first) and have
   PostgreSQL encode and hash their leaves, in one statement (leaves.entry_sql);
3. append their leaves to the compact range kept on the head (O(log n) per leaf, never a
   recomputation of the tree), storing each leaf and each perfect subtree it completes;
4. sign a checkpoint for the new size and root.
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
from workflows.transparency.leaves import MODELS, entry_of, entry_sql, hash_of, row_values

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


def _leaves_copy(leaves: list[Leaf]) -> str:
    """Leaves in COPY's text format: tab-separated, bytea as \\x<hex> (the sources are fixed
    names without tabs or backslashes)."""
    return "".join([f"{i}\t{s}\t{r}\t\\\\x{h.hex()}\n" for i, s, r, h in leaves])


def _nodes_copy(nodes: list[Node]) -> str:
    return "".join([f"{level}\t{i}\t\\\\x{h.hex()}\n" for level, i, h in nodes])


def _store(leaves: list[Leaf], nodes: list[Node]) -> None:
    if connection.vendor != "postgresql":
        LogLeaf.objects.bulk_create([LogLeaf(index=i, source=s, row_id=r, hash=h) for i, s, r, h in leaves])
        LogNode.objects.bulk_create([LogNode(level=level, index=i, hash=h) for level, i, h in nodes])
        return
    # COPY: a batch's leaves and nodes in one stream per table. Model objects and the ORM's
    # per-row SQL were most of a batch's time, and COPY costs a third of one INSERT over arrays.
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {LogLeaf._meta.db_table} (index, source, row_id, hash) FROM STDIN") as copy:
            copy.write(_leaves_copy(leaves))
        if nodes:
            with cursor.copy(f"COPY {LogNode._meta.db_table} (level, index, hash) FROM STDIN") as copy:
                copy.write(_nodes_copy(nodes))


def _queued_sql() -> str:
    """Takes a batch off the queue (oldest first) and answers, per queued row in that order, its
    leaf hash computed by PostgreSQL (leaves.entry_sql; NULL for a row that no longer exists or
    that Python must encode) and whether the row exists: one statement, 32 bytes a row back.
    Each row is found by its primary key (LATERAL), so a batch costs the same however large the
    tables grow; a join could scan a whole table."""
    lookups = []
    for number, (source, model) in enumerate(MODELS.items()):
        alias = f"r{number}"
        lookups.append(
            f"SELECT {entry_sql(source, alias)} FROM {model._meta.db_table} {alias}"  # noqa: S608 - fixed names
            f" WHERE q.source = '{source}' AND {alias}.id = q.row_id"
        )
    table = LogPending._meta.db_table
    # The batch's ids as an array (`= ANY(ARRAY(…))`), not `IN (SELECT …)`: the planner cannot
    # size a sub-select with a LIMIT and hash-joined it to a sequential scan of the whole queue,
    # dead rows of earlier batches included — 700 ms a batch of 5,000 with 100,000 queued; the
    # array is an index lookup of exactly the batch (40–90 ms).
    return (
        f"WITH q AS (DELETE FROM {table} WHERE id = ANY(ARRAY(SELECT id FROM {table} ORDER BY id LIMIT %s))"  # noqa: S608
        " RETURNING id, source, row_id)"
        " SELECT q.source, q.row_id, sha256('\\x00'::bytea || convert_to(row.entry, 'UTF8')), row.found"
        " FROM q LEFT JOIN LATERAL ("
        f"SELECT entry, true AS found FROM ({' UNION ALL '.join(lookups)}) AS found_row(entry)"
        ") AS row ON true ORDER BY q.id"
    )


QUEUED_SQL = _queued_sql()


def _take_queued(batch_size: int) -> list[tuple[str, int, bytes | None]]:
    """Removes up to batch_size rows from the queue, oldest first: (source, row id, leaf hash),
    the hash None for a row that no longer exists."""
    if connection.vendor != "postgresql":
        return _take_queued_in_python(batch_size)
    with connection.cursor() as cursor:
        cursor.execute(QUEUED_SQL, [batch_size])
        queued = cursor.fetchall()
    # A payload PostgreSQL could not encode exactly as Python does (leaves.entry_sql): Python.
    left: dict[str, list[int]] = defaultdict(list)
    for source, row_id, digest, found in queued:
        if digest is None and found:
            left[source].append(row_id)
    hashed = _hash_in_python(left) if left else {}
    return [
        (source, row_id, bytes(digest) if digest is not None else hashed.get((source, row_id)))
        for source, row_id, digest, _found in queued
    ]


def _hash_in_python(row_ids: dict[str, list[int]]) -> dict[tuple[str, int], bytes]:
    return {
        (source, values["id"]): hash_of(entry_of(source, values))
        for source, ids in row_ids.items()
        for values in row_values(source, ids)
    }


def _take_queued_in_python(batch_size: int) -> list[tuple[str, int, bytes | None]]:
    queued = list(LogPending.objects.order_by("id").values_list("id", "source", "row_id")[:batch_size])
    by_source: dict[str, list[int]] = defaultdict(list)
    for _pending_id, source, row_id in queued:
        by_source[source].append(row_id)
    hashed = _hash_in_python(by_source)
    LogPending.objects.filter(id__in=[q[0] for q in queued]).delete()
    return [(source, row_id, hashed.get((source, row_id))) for _pending_id, source, row_id in queued]


def log_batch_integrate(*, batch_size: int | None = None) -> BatchResult:
    """Integrates one batch of queued rows; see the module's docstring."""
    batch_size = batch_size or settings.TRANSPARENCY_BATCH_SIZE
    with transaction.atomic():
        LogHead.objects.bulk_create([LogHead(id=1)], ignore_conflicts=True)  # after a flush, too
        head = LogHead.objects.select_for_update(skip_locked=True).filter(id=1).first()
        if head is None:
            return BatchResult(0, 0, busy=True)
        queued = _take_queued(batch_size)
        if not queued:
            return BatchResult(0, head.size)
        tree = CompactRange(head.size, _edge(head))
        leaves: list[Leaf] = []
        nodes: list[Node] = []
        for source, row_id, digest in queued:
            if digest is None:
                # Cannot happen through the application (rows are append-only and queued in
                # their own transaction); verify_audit reports such a row as removed.
                logger.error("transparency log: queued %s row %s no longer exists; not integrated", source, row_id)
                continue
            created = tree.append(digest)
            leaves.append((created[0][1], source, row_id, digest))
            nodes.extend(created[1:])
        if leaves:
            _store(leaves, nodes)
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
