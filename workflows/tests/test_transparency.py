"""The transparency log: the sequencer integrates queued rows in batches into the RFC 9162 tree
and signs checkpoints; the public endpoints serve checkpoints and proofs that verify; a
citizen's "Prove it" file verifies with the documented script; /healthz shows the lag."""

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils.html import escape

from lib.merkle import CompactRange, verify_consistency, verify_inclusion
from lib.signed_note import NoteError, Signer, checkpoint_open
from portal.security.audit import audit_verify
from workflows.models import ApplicationEvent, Checkpoint, DataAccessRecord, LogHead, LogLeaf, LogNode, LogPending
from workflows.tests.factories import application_submit, published_version
from workflows.transparency import keys
from workflows.transparency.leaves import entry_for, hash_of
from workflows.transparency.sequencer import log_batch_integrate, log_integrate

pytestmark = pytest.mark.django_db
DOCS = Path(__file__).resolve().parents[2] / "docs" / "transparency.md"


@pytest.fixture
def application(alice):
    return application_submit(applicant=alice, version=published_version(), start=False)


def looks(count, *, alice, clerk_a, application):
    return [
        DataAccessRecord.objects.create(
            accessor=clerk_a, applicant=alice, application=application, what="view_application"
        )
        for _ in range(count)
    ]


def b64(text):
    return base64.b64decode(text)


def test_a_new_row_is_queued_and_the_sequencer_makes_it_a_leaf_with_a_signed_checkpoint(application, alice, clerk_a):
    integrated_before = log_integrate()  # the submission's own events
    row = ApplicationEvent.objects.create(
        application=application, kind="note", actor=clerk_a, payload={"b": 1, "a": [2]}
    )
    assert LogPending.objects.filter(source="application_event", row_id=row.pk).exists()
    assert log_integrate() == 1
    assert not LogPending.objects.exists()
    leaf = LogLeaf.objects.get(source="application_event", row_id=row.pk)
    assert leaf.index == integrated_before
    entry = json.loads(entry_for(row))
    assert entry["source"] == "application_event" and entry["id"] == row.pk and entry["payload"] == {"a": [2], "b": 1}
    assert entry["created_at"].endswith("Z")
    assert bytes(leaf.hash) == hash_of(entry_for(row))
    checkpoint = Checkpoint.objects.order_by("-id").first()
    note = checkpoint_open(checkpoint.note, keys.log_verifiers(), origin=keys.log_origin())
    assert note.size == leaf.index + 1 == LogHead.objects.get().size
    assert note.root == bytes(checkpoint.root)
    assert checkpoint.key_id == keys.log_signer().verifier.key_id.hex()


def test_batches_grow_the_tree_incrementally_to_the_same_root_as_a_full_recomputation(application, alice, clerk_a):
    looks(23, alice=alice, clerk_a=clerk_a, application=application)
    sizes = []
    while (result := log_batch_integrate(batch_size=5)).integrated:
        sizes.append(result.size)
    assert len(sizes) >= 5 and all(0 < b - a <= 5 for a, b in zip([0, *sizes], sizes, strict=False))
    leaves = [bytes(h) for h in LogLeaf.objects.order_by("index").values_list("hash", flat=True)]
    full = CompactRange()
    for leaf in leaves:
        full.append(leaf)
    checkpoints = list(Checkpoint.objects.order_by("id"))
    assert [c.size for c in checkpoints] == sizes  # one checkpoint per batch
    assert bytes(checkpoints[-1].root) == full.root()
    # Every perfect subtree above the leaves is stored once: n minus the number of set bits of n.
    assert LogNode.objects.count() == len(leaves) - bin(len(leaves)).count("1")


def test_a_run_with_nothing_queued_signs_nothing(application):
    log_integrate()
    count = Checkpoint.objects.count()
    assert log_integrate() == 0
    assert Checkpoint.objects.count() == count


def test_public_index_checkpoint_and_history(client, application, alice, clerk_a):
    looks(3, alice=alice, clerk_a=clerk_a, application=application)
    log_integrate()
    index = client.get("/transparency/").json()
    assert index["origin"] == keys.log_origin()
    assert index["verifier_keys"] == [keys.log_signer().verifier.text]
    assert index["checkpoint"]["size"] == index["tree_size"] == LogHead.objects.get().size
    note = client.get("/transparency/checkpoint")
    assert note["Content-Type"].startswith("text/plain")
    assert note.content.decode() == index["checkpoint"]["note"]
    history = client.get("/transparency/checkpoints/").json()
    assert history["count"] == Checkpoint.objects.count() and history["page"] == 1
    assert history["results"][0]["size"] == index["tree_size"]


def test_history_is_paginated_and_a_bad_page_is_a_clear_400_or_404(client, application):
    log_integrate()
    assert client.get("/transparency/checkpoints/", {"page": "two"}).json() == {
        "detail": "page must be a whole number."
    }
    missing = client.get("/transparency/checkpoints/", {"page": 99})
    assert missing.status_code == 404 and "pages run from 1 to 1" in missing.json()["detail"]


def test_public_inclusion_and_consistency_proofs_verify(client, application, alice, clerk_a):
    looks(4, alice=alice, clerk_a=clerk_a, application=application)
    log_integrate()
    first = Checkpoint.objects.order_by("-id").first()
    looks(9, alice=alice, clerk_a=clerk_a, application=application)
    log_integrate()
    second = Checkpoint.objects.order_by("-id").first()
    for index in (0, first.size - 1, second.size - 1):
        answer = client.get("/transparency/proof/inclusion", {"index": index}).json()
        assert answer["tree_size"] == second.size and answer["checkpoint"] == second.note
        leaf = bytes(LogLeaf.objects.get(index=index).hash)
        assert b64(answer["leaf_hash"]) == leaf
        proof = [b64(h) for h in answer["inclusion_proof"]]
        verify_inclusion(index=index, size=second.size, leaf=leaf, proof=proof, root=bytes(second.root))
    answer = client.get("/transparency/proof/consistency", {"first": first.size, "second": second.size}).json()
    verify_consistency(
        first=first.size,
        second=second.size,
        first_root=bytes(first.root),
        second_root=bytes(second.root),
        proof=[b64(h) for h in answer["consistency_proof"]],
    )


@pytest.mark.parametrize(
    ("url", "query", "message"),
    [
        ("/transparency/proof/inclusion", {"index": 10_000}, "leaf 10000 is not in the tree of"),
        ("/transparency/proof/inclusion", {"index": 0, "size": 10_000}, "there is no tree of 10000 leaves yet"),
        ("/transparency/proof/inclusion", {"index": "-1"}, "index must be a whole number"),
        ("/transparency/proof/inclusion", {}, "Give index as a whole number."),
        ("/transparency/proof/consistency", {"first": 10_000}, "the first size must not be larger"),
        ("/transparency/proof/consistency", {"first": 1, "second": "x"}, "second must be a whole number"),
    ],
)
def test_a_proof_that_cannot_exist_is_a_clear_400(client, application, url, query, message):
    log_integrate()
    response = client.get(url, query)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_the_log_publishes_old_verifier_keys_after_a_rotation(client, application, alice, clerk_a, tmp_path):
    looks(1, alice=alice, clerk_a=clerk_a, application=application)
    log_integrate()
    old = keys.log_signer()
    new = Signer.generate(keys.log_origin())
    (tmp_path / "new.key").write_text(new.text)
    with override_settings(
        TRANSPARENCY_SIGNING_KEY=str(tmp_path / "new.key"), TRANSPARENCY_VERIFIER_KEYS=[old.verifier.text]
    ):
        assert client.get("/transparency/").json()["verifier_keys"] == [new.verifier.text, old.verifier.text]
        assert audit_verify().ok  # checkpoints signed by the old key still verify
        looks(1, alice=alice, clerk_a=clerk_a, application=application)
        log_integrate()  # signed with the new key from now on, under its own key id
        old_id, new_id = old.verifier.key_id.hex(), new.verifier.key_id.hex()
        assert old_id != new_id
        ids = list(Checkpoint.objects.order_by("id").values_list("key_id", flat=True))
        assert set(ids[:-1]) == {old_id} and ids[-1] == new_id
        latest = Checkpoint.objects.order_by("-id").first()
        assert checkpoint_open(latest.note, [new.verifier]).size == latest.size
        with pytest.raises(NoteError, match="not signed by a known key"):
            checkpoint_open(latest.note, [old.verifier])  # the old key did not sign it
        assert audit_verify().ok  # a history under two keys, consistent across the rotation
    with override_settings(TRANSPARENCY_SIGNING_KEY=str(tmp_path / "new.key")):
        report = audit_verify()
        assert not report.ok and "is not signed by a known key" in report.problems[0]


@pytest.fixture
def proof_of_a_look(client, alice, clerk_a, application):
    record = looks(1, alice=alice, clerk_a=clerk_a, application=application)[0]
    client.force_login(alice)
    pending = client.get(f"/account/access-log/{record.pk}/proof.json")
    assert pending.status_code == 202 and pending.json()["status"] == "pending"
    assert pending["Retry-After"] == "5"
    log_integrate()
    response = client.get(f"/account/access-log/{record.pk}/proof.json")
    assert response.status_code == 200
    assert f'filename="access-record-{record.pk}-proof.json"' in response["Content-Disposition"]
    return record, response.json()


def test_prove_it_gives_the_record_its_leaf_path_and_signed_checkpoint(proof_of_a_look, client, alice):
    record, proof = proof_of_a_look
    assert proof["status"] == "included" and proof["row_id"] == record.pk
    assert json.loads(proof["entry"])["what"] == "view_application"
    leaf = LogLeaf.objects.get(source="data_access", row_id=record.pk)
    assert proof["leaf_index"] == leaf.index
    note = checkpoint_open(proof["checkpoint"], keys.log_verifiers())
    verify_inclusion(
        index=leaf.index,
        size=note.size,
        leaf=hash_of(proof["entry"].encode()),
        proof=[b64(h) for h in proof["inclusion_proof"]],
        root=note.root,
    )
    page = client.get("/account/access-log/").content.decode()
    assert f'href="/account/access-log/{record.pk}/proof/"' in page and "Prove it" in page


def test_another_person_never_gets_the_proof_of_alices_record(proof_of_a_look, client, bob, clerk_a):
    record, _ = proof_of_a_look
    for outsider in (bob, clerk_a):
        client.force_login(outsider)
        assert client.get(f"/account/access-log/{record.pk}/proof.json").status_code == 404
    client.logout()
    assert client.get(f"/account/access-log/{record.pk}/proof.json").status_code == 302


def documented_script() -> str:
    match = re.search(r"```python verify-proof\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert match, "docs/transparency.md lost its verification script"
    return match.group(1)


def test_the_documented_script_verifies_a_served_proof_and_refuses_a_changed_one(proof_of_a_look, tmp_path):
    _, proof = proof_of_a_look
    script = tmp_path / "verify_proof.py"
    script.write_text(documented_script())
    assert len(documented_script().splitlines()) <= 35
    served = tmp_path / "proof.json"
    served.write_text(json.dumps(proof))
    key = keys.log_signer().verifier.text

    def run(path, verifier=key):
        return subprocess.run([sys.executable, str(script), str(path), verifier], capture_output=True, text=True)

    result = run(served)
    assert result.returncode == 0, result.stderr
    assert f"OK: record {proof['row_id']} is leaf {proof['leaf_index']}" in result.stdout
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps({**proof, "entry": proof["entry"].replace("view_application", "reveal_field")}))
    result = run(changed)
    assert result.returncode != 0 and "the proof does not lead to the signed root" in result.stderr
    result = run(served, Signer.generate(keys.log_origin()).verifier.text)
    assert result.returncode != 0 and "not signed by that key" in result.stderr


def test_the_prove_it_page_shows_the_servers_check_the_file_and_the_documented_script(proof_of_a_look, client):
    record, proof = proof_of_a_look
    response = client.get(f"/account/access-log/{record.pk}/proof/")
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        f"Checked by One Door's server: this record is entry {proof['leaf_index']} of the log "
        f"{keys.log_origin()}, whose tree of {proof['tree_size']} entries is signed by the log's key"
    ) in page
    assert f'href="/account/access-log/{record.pk}/proof.json" download' in page
    assert "data-proof-check" in page and "js/proof_check" in page
    assert escape(proof["entry"]) in page
    assert keys.log_signer().verifier.text in page
    assert escape(documented_script()) in page  # the same script as the docs


def test_the_prove_it_page_of_a_queued_record_says_it_is_not_in_the_log_yet(client, alice, clerk_a, application):
    record = looks(1, alice=alice, clerk_a=clerk_a, application=application)[0]
    client.force_login(alice)
    page = client.get(f"/account/access-log/{record.pk}/proof/").content.decode()
    assert "This record is not in the public log yet" in page
    assert "data-proof-check" not in page and "Checked by One Door" not in page


def test_the_prove_it_page_says_when_the_server_cannot_check_the_proof(proof_of_a_look, client, tmp_path):
    record, _ = proof_of_a_look
    with override_settings(TRANSPARENCY_SIGNING_KEY=str(tmp_path / "other.key")):  # the old key is no longer known
        page = client.get(f"/account/access-log/{record.pk}/proof/").content.decode()
    assert "One Door's server could not check this proof: the note is not signed by a known key" in page
    assert "Checked by One Door" not in page


def test_another_person_never_sees_the_prove_it_page_of_alices_record(proof_of_a_look, client, bob, clerk_a):
    record, _ = proof_of_a_look
    for outsider in (bob, clerk_a):
        client.force_login(outsider)
        assert client.get(f"/account/access-log/{record.pk}/proof/").status_code == 404
    client.logout()
    assert client.get(f"/account/access-log/{record.pk}/proof/").status_code == 302


def test_healthz_shows_the_sequencer_lag_and_a_stopped_sequencer_blocks_nothing(client, application, alice, clerk_a):
    log_integrate()
    health = client.get("/healthz").json()
    assert health["transparency_lag_seconds"] == 0.0
    size = health["transparency_tree_size"]
    assert size == LogHead.objects.get().size
    # The sequencer is "stopped" (nothing runs it): writes still succeed, the lag shows.
    looks(2, alice=alice, clerk_a=clerk_a, application=application)
    assert LogPending.objects.count() == 2
    with connection.cursor() as cursor:
        cursor.execute("UPDATE workflows_logpending SET created_at = now() - interval '90 seconds'")
    health = client.get("/healthz").json()
    assert health["transparency_lag_seconds"] >= 90 and health["transparency_tree_size"] == size
    log_integrate()
    assert client.get("/healthz").json()["transparency_tree_size"] == size + 2


@pytest.mark.django_db(transaction=True)
def test_a_witness_over_http_verifies_stores_and_refuses_an_unknown_key(live_server, alice, clerk_a, tmp_path, capsys):
    application = application_submit(applicant=alice, version=published_version(), start=False)
    looks(3, alice=alice, clerk_a=clerk_a, application=application)
    log_integrate()
    store = tmp_path / "witness"
    call_command("witness", "--url", live_server.url, "--store", str(store), "--key", keys.log_signer().verifier.text)
    looks(5, alice=alice, clerk_a=clerk_a, application=application)
    log_integrate()
    call_command("witness", "--url", live_server.url, "--store", str(store))  # consistency proof fetched over HTTP
    assert "OK witnessed" in capsys.readouterr().out
    assert len(list(store.glob("0*.checkpoint"))) == 2
    stranger = Signer.generate(keys.log_origin()).verifier.text
    with pytest.raises(CommandError, match="checkpoint refused: the note is not signed by a known key"):
        call_command("witness", "--url", live_server.url, "--store", str(store), "--key", stranger)


@pytest.fixture
def key_of_another_port(tmp_path):
    """The development server generated its key while it ran on port 8000, then started on 8001:
    the origin (from PUBLIC_BASE_URL, from PORT) no longer matches the key's name."""
    path = tmp_path / "log-signing.key"
    with override_settings(TRANSPARENCY_SIGNING_KEY=str(path), TRANSPARENCY_LOG_ORIGIN="127.0.0.1:8000/transparency"):
        keys.log_signer()  # generated on first use
    assert path.exists()
    with override_settings(TRANSPARENCY_SIGNING_KEY=str(path), TRANSPARENCY_LOG_ORIGIN="127.0.0.1:8001/transparency"):
        yield path


def test_a_key_made_for_another_origin_answers_a_plain_503_and_tells_the_operator(
    key_of_another_port, client, application, caplog
):
    response = client.get("/transparency/")
    assert response.status_code == 503
    assert "cannot use the key that signs it" in response.json()["detail"]
    page = client.get("/transparency/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert page.status_code == 503
    assert page["Content-Type"].startswith("text/html")
    body = page.content.decode()
    assert "<h1" in body and "The public log is unavailable" in body and "Nothing recorded has been lost" in body
    assert "Traceback" not in body and str(key_of_another_port) not in body  # the path is for the operator only
    errors = [r.getMessage() for r in caplog.records if r.name == "workflows.transparency" and r.levelname == "ERROR"]
    assert errors and "named '127.0.0.1:8000/transparency'" in errors[0]
    assert "the log is '127.0.0.1:8001/transparency'" in errors[0] and "TRANSPARENCY_LOG_ORIGIN=" in errors[0]
    # The other public endpoints need no key and keep answering.
    assert client.get("/transparency/checkpoints/").status_code == 200


def test_the_prove_it_page_and_file_answer_503_not_500_when_the_key_does_not_match(proof_of_a_look, client, tmp_path):
    record, _ = proof_of_a_look
    path = tmp_path / "other-origin.key"
    path.write_text(Signer.generate("127.0.0.1:9999/transparency").text)
    with override_settings(TRANSPARENCY_SIGNING_KEY=str(path)):
        page = client.get(f"/account/access-log/{record.pk}/proof/")
        assert page.status_code == 503 and "The public log is unavailable" in page.content.decode()
        proof = client.get(f"/account/access-log/{record.pk}/proof.json")
        assert proof.status_code == 503 and "cannot use the key" in proof.json()["detail"]


def test_a_batch_is_taken_off_a_long_queue_by_its_index_not_by_scanning_the_queue(alice):
    """With 20,000 rows queued (and the table's statistics saying so), taking a batch of 5,000
    reads the queue's primary key for exactly the batch: a sequential scan of the whole queue,
    dead rows of earlier batches included, made a batch 10× slower (docs/benchmarks.md)."""
    if connection.vendor != "postgresql":
        pytest.skip("the batch statement is PostgreSQL's")
    from workflows.transparency.sequencer import QUEUED_SQL

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO workflows_dataaccessrecord (accessor_id, applicant_id, what, field_key, visible, created_at)"
            " SELECT %s, %s, 'view_application', 'n' || n, '{}'::jsonb, now() FROM generate_series(1, 20000) AS n",
            [alice.pk, alice.pk],
        )
        cursor.execute("ANALYZE workflows_logpending")
        cursor.execute("EXPLAIN " + QUEUED_SQL, [5000])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert LogPending.objects.count() >= 20000
    delete = plan[plan.index("Delete on workflows_logpending") :]
    delete = delete[: delete.index("Nested Loop")] if "Nested Loop" in delete else delete
    assert "workflows_logpending_pkey" in delete, plan
    assert "Seq Scan on workflows_logpending" not in plan, plan
