"""The Merkle tree against the published test vectors of RFC 6962 / RFC 9162 trees.

Source of the vectors: transparency-dev/merkle (github.com/transparency-dev/merkle),
proof/verify_test.go — `leaves`, `roots`, `inclusionProofs`, `consistencyProofs` (the same
8-leaf tree as Certificate Transparency's reference tests). Inclusion vectors there number
leaves from 1; here from 0.
"""

import pytest

from lib.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    list_range_hashes,
    proof_from,
    range_nodes,
    root_from_inclusion,
    root_of,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
INCLUSION = [  # (leaf index from 0, tree size, audit path)
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (0, 1, []),
]  # fmt: skip
CONSISTENCY = [  # (first size, second size, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip
HASHES = [leaf_hash(leaf) for leaf in LEAVES]


def test_the_empty_tree_is_the_hash_of_nothing():
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert CompactRange().root() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_published_vectors_whether_built_at_once_or_leaf_by_leaf(size):
    assert root_of(HASHES[:size]) == ROOTS[size - 1]
    tree = CompactRange()
    for leaf in HASHES[:size]:
        tree.append(leaf)
    assert tree.root() == ROOTS[size - 1]


def test_a_compact_range_resumes_from_its_stored_edge():
    tree = CompactRange()
    for leaf in HASHES[:5]:
        tree.append(leaf)
    resumed = CompactRange(tree.size, list(tree.hashes))
    assert len(resumed.hashes) == 2  # 5 = 4 + 1: one hash per perfect subtree
    for leaf in HASHES[5:]:
        resumed.append(leaf)
    assert resumed.root() == ROOTS[7]


def test_appending_yields_every_completed_subtree():
    tree = CompactRange(7, [root_of(HASHES[:4]), root_of(HASHES[4:6]), HASHES[6]])
    created = tree.append(HASHES[7])
    assert created == [
        (0, 7, HASHES[7]),
        (1, 3, root_of(HASHES[6:8])),
        (2, 1, root_of(HASHES[4:8])),
        (3, 0, ROOTS[7]),
    ]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_published_vectors(index, size, path):
    expected = [bytes.fromhex(h) for h in path]
    assert proof_from(inclusion_ranges(index, size), list_range_hashes(HASHES)) == expected
    verify_inclusion(index=index, size=size, leaf=HASHES[index], proof=expected, root=ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_published_vectors(first, second, path):
    expected = [bytes.fromhex(h) for h in path]
    assert proof_from(consistency_ranges(first, second), list_range_hashes(HASHES)) == expected
    verify_consistency(
        first=first, second=second, first_root=ROOTS[first - 1], second_root=ROOTS[second - 1], proof=expected
    )


def _flip(proof, position):
    changed = list(proof)
    changed[position] = bytes([changed[position][0] ^ 8]) + changed[position][1:]
    return changed


def test_a_wrong_inclusion_proof_is_refused():
    index, size, path = INCLUSION[0]
    proof = [bytes.fromhex(h) for h in path]
    root = ROOTS[size - 1]
    wrong = [
        {"index": index + 1},
        {"size": size * 2},
        {"size": size // 2},
        {"leaf": leaf_hash(b"wrong")},
        {"root": EMPTY_ROOT},
        {"proof": [*proof, root]},
        {"proof": [root, *proof]},
        {"proof": proof[:-1]},
        *({"proof": _flip(proof, n)} for n in range(len(proof))),
    ]
    for change in wrong:
        arguments = {"index": index, "size": size, "leaf": HASHES[index], "proof": proof, "root": root, **change}
        with pytest.raises(ProofError):
            verify_inclusion(**arguments)


def test_a_wrong_consistency_proof_is_refused():
    first, second, path = CONSISTENCY[2]
    proof = [bytes.fromhex(h) for h in path]
    roots = {"first_root": ROOTS[first - 1], "second_root": ROOTS[second - 1]}
    wrong = [
        {"first": first - 1},
        {"first": first + 1},
        {"second": second * 2},
        {"first_root": ROOTS[0]},
        {"first_root": roots["second_root"], "second_root": roots["first_root"]},
        {"proof": []},
        {"proof": [*proof, ROOTS[0]]},
        {"proof": [ROOTS[0], *proof]},
        {"proof": proof[:-1]},
        *({"proof": _flip(proof, n)} for n in range(len(proof))),
    ]
    for change in wrong:
        arguments = {"first": first, "second": second, "proof": proof, **roots, **change}
        with pytest.raises(ProofError):
            verify_consistency(**arguments)


def test_a_shrunk_or_forked_tree_is_refused_in_words():
    with pytest.raises(ProofError, match="the log shrank"):
        verify_consistency(first=8, second=7, first_root=ROOTS[7], second_root=ROOTS[6], proof=[])
    with pytest.raises(ProofError, match="the log was rewritten"):
        verify_consistency(first=8, second=8, first_root=ROOTS[7], second_root=ROOTS[6], proof=[])
    with pytest.raises(ProofError, match="leaf 8 is not in a tree of 8 leaves"):
        inclusion_ranges(8, 8)
    with pytest.raises(ProofError, match="not 32 bytes"):
        root_from_inclusion(index=0, size=2, leaf=HASHES[0], proof=[b"short"])


def test_every_proof_of_trees_up_to_70_leaves_verifies():
    hashes = [leaf_hash(n.to_bytes(2, "big")) for n in range(70)]
    ranges = list_range_hashes(hashes)
    for size in range(1, 71):
        root = root_of(hashes[:size])
        for index in range(size):
            path = proof_from(inclusion_ranges(index, size), ranges)
            verify_inclusion(index=index, size=size, leaf=hashes[index], proof=path, root=root)
        for first in range(size + 1):
            path = proof_from(consistency_ranges(first, size), ranges)
            verify_consistency(
                first=first, second=size, first_root=root_of(hashes[:first]), second_root=root, proof=path
            )


def test_ranges_decompose_into_aligned_perfect_subtrees():
    assert range_nodes(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert range_nodes(8, 13) == [(2, 2), (0, 12)]
    assert range_nodes(4, 6) == [(1, 2)]
