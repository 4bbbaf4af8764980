"""Inclusion and consistency proofs (RFC 9162 §2.1.3, §2.1.4) from the stored tree: each range
a proof needs is made of O(log n) stored perfect subtrees (leaves and LogNode rows)."""

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Q

from lib.merkle import (
    ProofError,
    consistency_ranges,
    fold,
    inclusion_ranges,
    leaf_hash,
    proof_from,
    range_nodes,
    verify_inclusion,
)
from lib.refusals import Refused
from lib.signed_note import Checkpoint as CheckpointNote
from lib.signed_note import checkpoint_open
from workflows.models import AppendOnlyModel, Checkpoint, LogHead, LogLeaf, LogNode
from workflows.transparency import keys
from workflows.transparency.leaves import SOURCES, entry_for


class ProofRefused(Refused):
    status_code = 400


def tree_size() -> int:
    return LogHead.objects.filter(id=1).values_list("size", flat=True).first() or 0


def stored_range_hashes(ranges: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    wanted = {r: range_nodes(*r) for r in ranges}
    nodes = {node for covering in wanted.values() for node in covering}
    leaves = [index for level, index in nodes if level == 0]
    inner = [(level, index) for level, index in nodes if level > 0]
    found: dict[tuple[int, int], bytes] = {
        (0, index): bytes(digest)
        for index, digest in LogLeaf.objects.filter(index__in=leaves).values_list("index", "hash")
    }
    if inner:
        query = Q()
        for level, index in inner:
            query |= Q(level=level, index=index)
        found.update(
            {
                (level, index): bytes(digest)
                for level, index, digest in LogNode.objects.filter(query).values_list("level", "index", "hash")
            }
        )
    missing = nodes - found.keys()
    if missing:
        raise ProofError(f"the stored tree lacks {len(missing)} node(s) a proof needs, e.g. {sorted(missing)[0]}")
    return {r: fold([found[node] for node in covering]) for r, covering in wanted.items()}


def _size_in_tree(size: int | None) -> int:
    current = tree_size()
    if size is None:
        size = latest_checkpoint_size()
    if size > current:
        raise ProofRefused(f"the log has {current} leaves; there is no tree of {size} leaves yet")
    return size


def latest_checkpoint_size() -> int:
    return Checkpoint.objects.order_by("-id").values_list("size", flat=True).first() or 0


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    leaf_hash: bytes
    path: list[bytes]


def inclusion_proof(*, index: int, size: int | None = None) -> InclusionProof:
    size = _size_in_tree(size)
    if not 0 <= index < size:
        raise ProofRefused(f"leaf {index} is not in the tree of {size} leaves (leaves are numbered from 0)")
    leaf = LogLeaf.objects.filter(index=index).values_list("hash", flat=True).first()
    if leaf is None:
        raise ProofRefused(f"leaf {index} is not stored")
    return InclusionProof(index, size, bytes(leaf), proof_from(inclusion_ranges(index, size), stored_range_hashes))


def consistency_proof(*, first: int, second: int | None = None) -> list[bytes]:
    second = _size_in_tree(second)
    if not 0 <= first <= second:
        raise ProofRefused(f"no consistency proof from {first} to {second} leaves: the first size must not be larger")
    return proof_from(consistency_ranges(first, second), stored_range_hashes)


def checkpoint_at(size: int) -> Checkpoint | None:
    """The latest checkpoint signed for exactly this size."""
    return Checkpoint.objects.filter(size=size).order_by("-id").first()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def checkpoint_document(checkpoint: Checkpoint) -> dict[str, object]:
    return {
        "size": checkpoint.size,
        "root_hash": b64(bytes(checkpoint.root)),
        "key_id": checkpoint.key_id,
        "created_at": checkpoint.created_at.isoformat(),
        "note": checkpoint.note,
    }


def record_proof_document(row: AppendOnlyModel) -> dict[str, object] | None:
    """Everything needed to check offline that this row is in the log: its canonical entry,
    leaf hash and index, the audit path to the latest checkpoint, that signed checkpoint and
    the log's verifier keys. None while the row is still queued."""
    source = SOURCES[type(row)]
    leaf = LogLeaf.objects.filter(source=source, row_id=row.pk).first()
    checkpoint = Checkpoint.objects.order_by("-id").first()
    if leaf is None or checkpoint is None or checkpoint.size <= leaf.index:
        return None
    proof = inclusion_proof(index=leaf.index, size=checkpoint.size)
    return {
        "log": keys.log_origin(),
        "verifier_keys": [v.text for v in keys.log_verifiers()],
        "source": source,
        "row_id": row.pk,
        "entry": entry_for(row).decode(),
        "leaf_index": leaf.index,
        "leaf_hash": b64(proof.leaf_hash),
        "tree_size": proof.size,
        "inclusion_proof": [b64(h) for h in proof.path],
        "checkpoint": checkpoint.note,
    }


def record_proof_check(document: dict) -> CheckpointNote:
    """What the documented script checks, done by the server: the checkpoint is signed by one of
    the log's keys, and the audit path leads from the entry's leaf hash to its root. Raises
    NoteError or ProofError (both ValueError) saying what does not hold."""
    checkpoint = checkpoint_open(document["checkpoint"], keys.log_verifiers(), origin=keys.log_origin())
    verify_inclusion(
        index=document["leaf_index"],
        size=checkpoint.size,
        leaf=leaf_hash(document["entry"].encode()),
        proof=[base64.b64decode(h) for h in document["inclusion_proof"]],
        root=checkpoint.root,
    )
    return checkpoint
