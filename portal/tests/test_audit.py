"""The audit rows are append-only; verify_audit recomputes the transparency log from them and
detects an edited, deleted or unlogged row, a truncated log and a rewritten one (with a witness)."""

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from lib.signed_note import Signer
from portal.security.audit import audit_verify
from workflows.models import AppendOnlyError, ApplicationEvent, Checkpoint, DataAccessRecord, LogLeaf, LogPending
from workflows.tests.factories import application_submit, published_version
from workflows.transparency.sequencer import checkpoint_sign, log_integrate

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(alice):
    return application_submit(applicant=alice, version=published_version(), start=False)


def event(application, kind="note", **fields):
    return ApplicationEvent.objects.create(application=application, kind=kind, **fields)


def verify_output(capsys, *args) -> tuple[bool, str]:
    try:
        call_command("verify_audit", *args)
    except CommandError:
        return False, capsys.readouterr().out
    return True, capsys.readouterr().out


def tamper(sql: str, params=()) -> None:
    """What a database superuser could do: bypass the triggers and write directly."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def witness(tmp_path) -> str:
    """Stores the latest checkpoint outside the database, as a witness would."""
    call_command("witness", "--local", "--store", str(tmp_path / "witness"))
    return str(tmp_path / "witness")


@pytest.fixture
def logged(application, alice, clerk_a):
    """Five events and three access records, all in the log."""
    events = [event(application, kind="step", actor=clerk_a, reason=f"reason {n}") for n in range(5)]
    records = [
        DataAccessRecord.objects.create(
            accessor=clerk_a, applicant=alice, application=application, what="view_application"
        )
        for _ in range(3)
    ]
    log_integrate()
    return events, records


def test_the_application_cannot_change_or_remove_audit_rows(application, alice, clerk_a):
    row = event(application, kind="submitted", actor=alice, reason="first")
    row.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        ApplicationEvent.objects.filter(pk=row.pk).update(reason="rewritten")
    with pytest.raises(AppendOnlyError):
        ApplicationEvent.objects.filter(pk=row.pk).delete()
    with pytest.raises(AppendOnlyError):
        ApplicationEvent.objects.bulk_update([row], ["reason"])
    record = DataAccessRecord.objects.create(accessor=clerk_a, applicant=alice, what="view_application")
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        DataAccessRecord.objects.all().update(field_key="x")
    assert ApplicationEvent.objects.get(pk=row.pk).reason == "first"


@pytest.mark.parametrize("table", ["workflows_applicationevent", "workflows_dataaccessrecord"])
def test_the_database_refuses_update_and_delete_even_in_raw_sql(application, alice, clerk_a, table):
    event(application, kind="submitted", actor=alice)
    DataAccessRecord.objects.create(accessor=clerk_a, applicant=alice, what="view_application")
    for statement in (f"UPDATE {table} SET created_at = now()", f"DELETE FROM {table}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


def test_verify_audit_reports_ok_with_counts_and_queued_rows(logged, application, clerk_a, capsys):
    event(application, kind="late", actor=clerk_a)  # committed after the sequencer ran: queued
    ok, out = verify_output(capsys)
    assert ok, out
    assert "rows application_event: 6" in out
    assert "rows data_access: 3" in out
    assert "log: 8 leaves" in out and "1 rows queued" in out
    assert "OK the log matches the rows and every checkpoint" in out


def test_verify_audit_names_an_edited_row(logged, capsys):
    events, _ = logged
    tamper("UPDATE workflows_applicationevent SET reason = 'nothing to see' WHERE id = %s", [events[2].pk])
    ok, out = verify_output(capsys)
    assert not ok
    leaf = LogLeaf.objects.get(source="application_event", row_id=events[2].pk)
    assert f"PROBLEM leaf {leaf.index}: the ApplicationEvent row {events[2].pk} was changed after it was logged" in out


def test_verify_audit_names_a_deleted_row(logged, capsys):
    _, records = logged
    tamper("DELETE FROM workflows_dataaccessrecord WHERE id = %s", [records[1].pk])
    ok, out = verify_output(capsys)
    assert not ok
    leaf = LogLeaf.objects.get(source="data_access", row_id=records[1].pk)
    assert f"PROBLEM leaf {leaf.index}: the DataAccessRecord row {records[1].pk} was deleted" in out


def test_verify_audit_names_a_row_inserted_around_the_log(application, clerk_a, capsys):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    hidden = event(application, kind="hidden", actor=clerk_a)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")
    assert not LogPending.objects.filter(row_id=hidden.pk).exists()
    ok, out = verify_output(capsys)
    assert not ok
    assert f"the ApplicationEvent row {hidden.pk} is not in the log" in out


def rebuild_log() -> None:
    """What an administrator with the signing key could do: throw the log away and rebuild it,
    re-signed, from the rows as they are now. On its own it then looks whole."""
    for table in ("workflows_logleaf", "workflows_lognode", "workflows_checkpoint", "workflows_logpending"):
        tamper(f"DELETE FROM {table}")
    tamper("UPDATE workflows_loghead SET size = 0, edge = ''::bytea")
    tamper(
        "INSERT INTO workflows_logpending (source, row_id, created_at) SELECT source, row_id, created_at FROM ("
        " SELECT 'application_event' AS source, id AS row_id, created_at FROM workflows_applicationevent UNION ALL"
        " SELECT 'data_access', id, created_at FROM workflows_dataaccessrecord) AS rows"
        " ORDER BY created_at, source, row_id"
    )
    log_integrate()


def test_a_witness_detects_a_truncated_log(logged, tmp_path, capsys):
    store = witness(tmp_path)
    ok, _ = verify_output(capsys, "--witnessed", store)
    assert ok
    _, records = logged
    for record in records:  # the last three rows
        tamper("DELETE FROM workflows_dataaccessrecord WHERE id = %s", [record.pk])
    rebuild_log()
    ok, out = verify_output(capsys)
    assert ok, out  # internally consistent…
    ok, out = verify_output(capsys, "--witnessed", store)
    assert not ok  # …but not what the log told the witness
    assert "witnessed checkpoint (size 8" in out
    assert "the log has only 5 leaves — it was truncated" in out


def test_a_witness_detects_a_rewritten_and_re_signed_log(logged, tmp_path, capsys):
    events, _ = logged
    store = witness(tmp_path)
    tamper("UPDATE workflows_applicationevent SET reason = 'forged' WHERE id = %s", [events[0].pk])
    rebuild_log()
    ok, out = verify_output(capsys)
    assert ok, out
    ok, out = verify_output(capsys, "--witnessed", store)
    assert not ok
    assert "the log's first 8 leaves have another root — it was rewritten" in out


def test_a_checkpoint_signed_by_an_unknown_key_is_refused(logged, capsys):
    stranger = Signer.generate(Checkpoint.objects.first().note.split("\n")[0])
    forged = stranger.sign(Checkpoint.objects.first().note.split("\n\n")[0] + "\n")
    tamper(
        "INSERT INTO workflows_checkpoint (size, root, note, key_id, created_at) VALUES (8, ''::bytea, %s, 'x', now())",
        [forged],
    )
    ok, out = verify_output(capsys)
    assert not ok
    assert "is not signed by a known key (signed by: " in out
    assert stranger.verifier.key_id.hex() in out


def test_a_forged_leaf_hash_breaks_every_checkpoint_after_it(logged, capsys):
    events, _ = logged
    tamper("UPDATE workflows_applicationevent SET reason = 'forged' WHERE id = %s", [events[1].pk])
    leaf = LogLeaf.objects.get(source="application_event", row_id=events[1].pk)
    tamper("UPDATE workflows_logleaf SET hash = %s WHERE index = %s", [b"\x00" * 32, leaf.index])
    ok, out = verify_output(capsys)
    assert not ok
    assert "its root is not the root of the log's first 8 leaves" in out


def test_verify_audit_refuses_a_missing_witness_file(logged, tmp_path, capsys):
    with pytest.raises(CommandError, match="no checkpoint file there"):
        call_command("verify_audit", "--witnessed", str(tmp_path / "nothing"))


def test_audit_verify_checks_every_stored_checkpoint(logged, application, clerk_a):
    event(application, kind="more", actor=clerk_a)
    log_integrate()
    checkpoint_sign(size=9, root=audit_verify().root)  # a re-signed head is fine
    report = audit_verify()
    assert report.ok, report.problems
    assert report.checkpoints == 3 and report.tree_size == 9
