"""The Merkle tree of RFC 9162 §2.1 (the Certificate Transparency tree, as RFC 6962): hashes,
the compact range that lets a log grow one leaf at a time, and inclusion and consistency proofs.

leaf hash = SHA-256(0x00 || entry), node hash = SHA-256(0x01 || left || right); the root of n
leaves splits at the largest power of two below n. Proofs are built from "the hash of the
leaves [start, end)" (`RangeHashes`), which a log answers from its stored perfect subtrees
(`range_nodes` names them) instead of re-reading every leaf.
"""

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

# A function answering MTH(D[start:end]) for the ranges a proof needs.
RangeHashes = Callable[[Sequence[tuple[int, int]]], dict[tuple[int, int], bytes]]


class ProofError(ValueError):
    """A proof that does not verify, or a request for a proof that cannot exist."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than size (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_of(hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (the textbook recursion; for tests and small lists)."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(root_of(hashes[:k]), root_of(hashes[k:]))


def fold(subtrees: Sequence[bytes]) -> bytes:
    """The root over perfect subtrees listed left to right with shrinking sizes (a range's
    binary decomposition): each is the left child of the fold of the ones after it."""
    if not subtrees:
        return EMPTY_ROOT
    result = subtrees[-1]
    for left in reversed(subtrees[:-1]):
        result = node_hash(left, result)
    return result


def range_nodes(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect subtrees (level, index) covering [start, end), left to right, largest first
    as long as start is aligned (always true for the ranges proofs ask for). Level 0 is a
    leaf; the node (level, index) covers leaves [index·2^level, (index+1)·2^level)."""
    nodes = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while start + (1 << level) > end:
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


@dataclass
class CompactRange:
    """The right edge of a tree of `size` leaves: the roots of its perfect subtrees, one per
    set bit of size, largest first. Appending a leaf costs O(log n) and yields the new perfect
    subtrees it completes, so the caller can store them for proofs."""

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Adds one leaf hash; returns every completed node as (level, index, hash), the
        leaf itself (level 0) first."""
        index = self.size
        created = [(0, index, leaf)]
        self.hashes.append(leaf)
        level = 0
        # Each trailing one bit of the old size is a subtree the new leaf's subtree merges with.
        while (index >> level) & 1:
            right = self.hashes.pop()
            left = self.hashes.pop()
            merged = node_hash(left, right)
            self.hashes.append(merged)
            level += 1
            created.append((level, index >> level, merged))
        self.size += 1
        return created

    def root(self) -> bytes:
        return fold(self.hashes)


# --- Proofs (RFC 9162 §2.1.3 and §2.1.4) ------------------------------------------------------


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose hashes make the audit path of leaf `index` in a tree of `size`, in
    proof order (from the leaf up)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return list(reversed(ranges))


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The ranges whose hashes make the consistency proof from tree size `first` to `second`."""
    if not 0 <= first <= second:
        raise ProofError(f"no consistency proof from {first} to {second} leaves: the first must not be larger")
    if first == 0 or first == second:
        return []
    ranges: list[tuple[int, int]] = []
    start, end, whole = 0, second, True
    m = first
    while True:
        if m == end - start:
            if not whole:
                ranges.append((start, end))
            break
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            whole = False
    return list(reversed(ranges))


def proof_from(ranges: Sequence[tuple[int, int]], hashes_of: RangeHashes) -> list[bytes]:
    found = hashes_of(ranges)
    return [found[r] for r in ranges]


def list_range_hashes(leaves: Sequence[bytes]) -> RangeHashes:
    """Range hashes over an in-memory list of leaf hashes (tests, verification from rows)."""
    return lambda ranges: {(a, b): root_of(leaves[a:b]) for a, b in ranges}


def _check_sizes(hashes: Sequence[bytes]) -> None:
    if any(len(h) != HASH_SIZE for h in hashes):
        raise ProofError("a hash in the proof is not 32 bytes long")


def root_from_inclusion(*, index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root that the audit path leads to from the leaf."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    _check_sizes([leaf, *proof])
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is high")
    return result


def verify_inclusion(*, index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    if root_from_inclusion(index=index, size=size, leaf=leaf, proof=proof) != root:
        raise ProofError(f"leaf {index} is not in the tree of {size} leaves with this root")


def verify_consistency(
    *, first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: the tree of `second` leaves extends the tree of `first` leaves."""
    if first > second:
        raise ProofError(f"a tree of {second} leaves cannot extend one of {first}: the log shrank")
    _check_sizes(proof)
    if first == second:
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError(f"two different roots for the same size {first}: the log was rewritten")
        return
    if first == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    if fr != first_root:
        raise ProofError(f"the tree of {first} leaves is not the start of this one: its root differs")
    if sr != second_root:
        raise ProofError(f"the proof does not lead to the root of the tree of {second} leaves")
