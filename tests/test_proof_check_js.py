"""The browser's proof check (static/js/proof_check.js), run under Node's Web Crypto: its RFC 9162
hashing and inclusion-proof root agree with the published test vectors and with lib.merkle for
every leaf of trees of 1 to 33 leaves, and a wrong path is refused."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from lib.merkle import inclusion_ranges, leaf_hash, list_range_hashes, proof_from, root_of
from lib.tests.test_merkle import INCLUSION, LEAVES, ROOTS

MODULE = Path(__file__).resolve().parents[1] / "static" / "js" / "proof_check.js"
NODE = shutil.which("node")
RUNNER = """
import { leafHash, rootFromInclusion } from %s;
const hex = (bytes) => Buffer.from(bytes).toString("hex");
const bytes = (text) => Uint8Array.from(Buffer.from(text, "hex"));
let input = "";
for await (const chunk of process.stdin) input += chunk;
const cases = JSON.parse(input);
const out = { leaves: [], roots: [] };
for (const entry of cases.entries) out.leaves.push(hex(await leafHash(entry)));
for (const [index, size, leaf, path] of cases.proofs) {
  try {
    out.roots.push(hex(await rootFromInclusion(index, size, bytes(leaf), path.map(bytes))));
  } catch (error) {
    out.roots.push("refused: " + error.reason);
  }
}
console.log(JSON.stringify(out));
"""

pytestmark = pytest.mark.skipif(NODE is None, reason="needs Node.js (make install puts it in place)")


def run_js(entries: list[str], proofs: list[tuple[int, int, bytes, list[bytes]]]) -> dict:
    cases = {"entries": entries, "proofs": [[i, n, leaf.hex(), [h.hex() for h in path]] for i, n, leaf, path in proofs]}
    done = subprocess.run(
        [str(NODE), "--input-type=module", "-e", RUNNER % json.dumps(MODULE.as_uri())],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def test_the_browser_check_agrees_with_the_rfc_vectors_and_with_the_server():
    entries = ['{"id":1,"source":"data_access","what":"view_application"}', "", "办事 一次"]
    proofs = [(i, n, leaf_hash(LEAVES[i]), [bytes.fromhex(h) for h in path]) for i, n, path in INCLUSION]
    expected = [ROOTS[n - 1] for _, n, _ in INCLUSION]
    for size in range(1, 34):
        leaves = [leaf_hash(f"entry {k}".encode()) for k in range(size)]
        for index in range(size):
            path = proof_from(inclusion_ranges(index, size), list_range_hashes(leaves))
            proofs.append((index, size, leaves[index], path))
            expected.append(root_of(leaves))
    answer = run_js(entries, proofs)
    assert answer["leaves"] == [leaf_hash(entry.encode()).hex() for entry in entries]
    assert answer["roots"] == [root.hex() for root in expected]


def test_the_browser_check_refuses_a_path_of_the_wrong_length_or_a_leaf_past_the_tree():
    leaves = [leaf_hash(bytes([k])) for k in range(5)]
    path = proof_from(inclusion_ranges(1, 5), list_range_hashes(leaves))
    answer = run_js(
        [],
        [(1, 5, leaves[1], path[:-1]), (1, 5, leaves[1], [*path, path[0]]), (5, 5, leaves[1], path)],
    )
    assert answer["roots"] == ["refused: wrong-path", "refused: wrong-path", "refused: wrong-size"]
