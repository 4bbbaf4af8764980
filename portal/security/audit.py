"""Verification of the transparency log of the audit rows (docs/transparency.md).

`audit_verify` checks, independently of the sequencer's own state:
- every leaf against its row: the row still exists and its canonical content still hashes to
  the leaf (an edited or deleted row is named), and the leaves are numbered without gaps;
- every audit row is in the log or still queued for it;
- every stored checkpoint: its signature by a known key, and its root against the root
  recomputed from the leaves at its size — so consecutive checkpoints are consistent (each is
  a prefix of one tree) and none is larger than the log (truncation);
- the head the sequencer appends to;
- each witnessed checkpoint (kept outside the database by `manage.py witness`): signed by a
  known key, not larger than the log (truncation), the same root at its size (a rewrite, even
  one re-signed with the log's key), and a consistency proof from it to the latest checkpoint
  built from the stored tree verifies.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lib.merkle import HASH_SIZE, CompactRange, ProofError, verify_consistency
from lib.signed_note import Checkpoint as CheckpointNote
from lib.signed_note import NoteError, Verifier, checkpoint_open
from workflows.models import Checkpoint, LogHead, LogLeaf, LogPending
from workflows.transparency import keys
from workflows.transparency.leaves import MODELS, all_row_values, entry_of, hash_of
from workflows.transparency.proofs import ProofRefused, consistency_proof


@dataclass
class AuditReport:
    rows: dict[str, int] = field(default_factory=dict)
    queued: int = 0
    tree_size: int = 0
    checkpoints: int = 0
    witnessed: int = 0
    root: bytes = b""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _root_hex(root: bytes) -> str:
    return root.hex()[:16] + "…"


def audit_verify(
    *, witnessed: Sequence[str] = (), extra_verifiers: Iterable[Verifier] = (), using: str = "default"
) -> AuditReport:
    report = AuditReport()
    verifiers = [*keys.log_verifiers(), *extra_verifiers]
    origin = keys.log_origin()

    # 1. The rows as they are now, hashed as leaves.
    row_hashes: dict[tuple[str, int], bytes] = {}
    for source in MODELS:
        count = 0
        for values in all_row_values(source, using=using):
            row_hashes[(source, values["id"])] = hash_of(entry_of(source, values))
            count += 1
        report.rows[source] = count

    # 2. The checkpoints (stored and witnessed), opened, so we know at which sizes to take roots.
    stored: list[tuple[Checkpoint, CheckpointNote | None]] = []
    for checkpoint in Checkpoint.objects.using(using).order_by("id").iterator():
        try:
            note = checkpoint_open(checkpoint.note, verifiers, origin=origin)
        except NoteError as error:
            report.problems.append(f"checkpoint #{checkpoint.pk} (size {checkpoint.size}): {error}")
            note = None
        stored.append((checkpoint, note))
    report.checkpoints = len(stored)
    outside: list[CheckpointNote] = []
    for number, text in enumerate(witnessed, start=1):
        try:
            outside.append(checkpoint_open(text, verifiers, origin=origin))
        except NoteError as error:
            report.problems.append(f"witnessed checkpoint {number} refused: {error}")
    report.witnessed = len(outside)
    wanted = {note.size for _, note in stored if note} | {note.size for note in outside}
    roots: dict[int, bytes] = {}

    # 3. The leaves in order: each against its row; the tree recomputed from the stored leaf hashes.
    tree = CompactRange()
    if 0 in wanted:
        roots[0] = tree.root()
    leaves = LogLeaf.objects.using(using).order_by("index").values_list("index", "source", "row_id", "hash")
    for index, source, row_id, stored_hash in leaves.iterator(chunk_size=5000):
        if index != tree.size:
            report.problems.append(f"leaves {tree.size} to {index - 1} are missing from the log")
            break
        current = row_hashes.pop((source, row_id), None)
        if current is None:
            report.problems.append(f"leaf {index}: the {MODELS[source].__name__} row {row_id} was deleted")
        elif current != bytes(stored_hash):
            report.problems.append(
                f"leaf {index}: the {MODELS[source].__name__} row {row_id} was changed after it was logged"
            )
        tree.append(bytes(stored_hash))
        if tree.size in wanted:
            roots[tree.size] = tree.root()
    report.tree_size, report.root = tree.size, tree.root()

    # 4. Rows that are neither in the log nor queued for it.
    queued = set(LogPending.objects.using(using).values_list("source", "row_id"))
    report.queued = len(queued)
    for source, row_id in sorted(row_hashes.keys() - queued):
        report.problems.append(
            f"the {MODELS[source].__name__} row {row_id} is not in the log (inserted without its queue trigger?)"
        )

    # 5. Stored checkpoints against the recomputed tree, in the order they were signed.
    previous = 0
    for checkpoint, note in stored:
        if note is None:
            continue
        label = f"checkpoint #{checkpoint.pk} (size {note.size})"
        if note.size > tree.size:
            report.problems.append(f"{label}: the log has only {tree.size} leaves — it was truncated")
        elif roots.get(note.size) != note.root:
            report.problems.append(f"{label}: its root is not the root of the log's first {note.size} leaves")
        if note.size < previous:
            report.problems.append(f"{label}: smaller than the checkpoint before it ({previous}) — the log shrank")
        previous = max(previous, note.size)

    # 6. The head the sequencer appends to.
    head = LogHead.objects.using(using).filter(id=1).first()
    if head is not None:
        edge = bytes(head.edge)
        head_root = CompactRange(head.size, [edge[i : i + HASH_SIZE] for i in range(0, len(edge), HASH_SIZE)]).root()
        if head.size != tree.size or head_root != tree.root():
            report.problems.append(
                f"the sequencer's head (size {head.size}) does not match the leaves (size {tree.size})"
            )

    # 7. Witnessed checkpoints: what the log said to someone outside the database.
    latest = next((note for _, note in reversed(stored) if note), None)
    for note in outside:
        label = f"witnessed checkpoint (size {note.size}, root {_root_hex(note.root)})"
        if note.size > tree.size:
            report.problems.append(f"{label}: the log has only {tree.size} leaves — it was truncated")
            continue
        if roots.get(note.size) != note.root:
            report.problems.append(f"{label}: the log's first {note.size} leaves have another root — it was rewritten")
            continue
        if latest is not None and latest.size >= note.size:
            try:
                path = consistency_proof(first=note.size, second=latest.size)
                verify_consistency(
                    first=note.size, second=latest.size, first_root=note.root, second_root=latest.root, proof=path
                )
            except (ProofError, ProofRefused) as error:
                report.problems.append(f"{label}: no consistency proof to the latest checkpoint: {error}")
    return report
