"""The audit trail is append-only and chained by hash; verify_audit finds the first broken link."""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction

from portal.security.audit import audit_verify
from workflows.models import AppendOnlyError, ApplicationEvent, DataAccessRecord, audit_hash, audit_text
from workflows.tests.factories import application_submit, published_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(alice):
    return application_submit(applicant=alice, version=published_version(), start=False)


def event(application, kind="note", **fields):
    return ApplicationEvent.objects.create(application=application, kind=kind, **fields)


def verify_output(capsys) -> tuple[bool, str]:
    try:
        call_command("verify_audit")
    except CommandError:
        return False, capsys.readouterr().out
    return True, capsys.readouterr().out


def tamper(sql: str, params=()) -> None:
    """What a database superuser could do: bypass the triggers and write directly."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def test_each_row_is_chained_to_the_one_before_whatever_the_caller_passes(application, alice, clerk_a):
    first = event(application, kind="submitted", actor=alice, previous_hash="forged", hash="forged")
    second = event(application, kind="claimed", actor=clerk_a, payload={"step": "licence"})
    assert first.previous_hash == "" or first.previous_hash != "forged"
    assert first.hash != "forged" and len(first.hash) == 64
    assert second.previous_hash == first.hash
    # The instance carries what the database stored (read back on insert).
    stored = ApplicationEvent.objects.values_list("previous_hash", "hash").get(pk=second.pk)
    assert stored == (second.previous_hash, second.hash)

    record = DataAccessRecord.objects.create(
        accessor=clerk_a, applicant=alice, application=application, what=DataAccessRecord.What.VIEW_APPLICATION
    )
    again = DataAccessRecord.objects.create(
        accessor=clerk_a, applicant=alice, application=application, what=DataAccessRecord.What.REVEAL_FIELD,
        field_key="person.id_number",
    )  # fmt: skip
    assert again.previous_hash == record.hash  # a chain of its own, per table


def test_python_and_the_database_hash_the_same_canonical_content(application, alice):
    payload = {"text": 'line\r\nbreak "quoted" \\ 二', "b": [1, None, True, 2.5], "aa": {"z": {}, "yy": []}}
    row = event(application, kind="correction_requested", actor=alice, reason="Bitte\nprüfen", payload=payload)
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload::text FROM workflows_applicationevent WHERE id = %s", [row.pk])
        (database_text,) = cursor.fetchone()
    assert audit_text(payload) == database_text
    row.refresh_from_db()
    assert audit_hash(row.previous_hash, row.audit_fields()) == row.hash


def test_verify_audit_reports_ok_with_counts(application, alice, clerk_a, capsys):
    for kind in ("submitted", "claimed", "approved"):
        event(application, kind=kind, actor=clerk_a)
    DataAccessRecord.objects.create(accessor=clerk_a, applicant=alice, what=DataAccessRecord.What.VIEW_APPLICATION)
    ok, out = verify_output(capsys)
    assert ok
    assert "OK workflows_applicationevent: 3 rows" in out
    assert "OK workflows_dataaccessrecord: 1 rows" in out


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


def test_verify_audit_names_an_edited_row(application, clerk_a, capsys):
    rows = [event(application, kind="step", actor=clerk_a, reason=f"reason {n}") for n in range(4)]
    tamper("UPDATE workflows_applicationevent SET reason = 'nothing to see' WHERE id = %s", [rows[2].pk])
    ok, out = verify_output(capsys)
    assert not ok
    assert f"BROKEN workflows_applicationevent row {rows[2].pk}: hash expected " in out
    assert f"found {rows[2].hash}" in out
    assert "OK workflows_dataaccessrecord" in out


def test_an_edited_row_with_a_recomputed_hash_breaks_the_next_link(application, clerk_a, capsys):
    rows = [event(application, kind="step", actor=clerk_a) for _ in range(3)]
    edited = ApplicationEvent.objects.get(pk=rows[1].pk)
    edited.reason = "forged reason"
    forged_hash = audit_hash(edited.previous_hash, edited.audit_fields())
    tamper(
        "UPDATE workflows_applicationevent SET reason = 'forged reason', hash = %s WHERE id = %s",
        [forged_hash, rows[1].pk],
    )
    ok, out = verify_output(capsys)
    assert not ok
    assert (
        f"BROKEN workflows_applicationevent row {rows[2].pk}: previous_hash expected {forged_hash} found {rows[1].hash}"
    ) in out


def test_verify_audit_names_the_row_after_a_deleted_one(alice, clerk_a, capsys):
    records = [
        DataAccessRecord.objects.create(accessor=clerk_a, applicant=alice, what="view_application") for _ in range(4)
    ]
    tamper("DELETE FROM workflows_dataaccessrecord WHERE id = %s", [records[1].pk])
    ok, out = verify_output(capsys)
    assert not ok
    assert (
        f"BROKEN workflows_dataaccessrecord row {records[2].pk}: previous_hash expected {records[0].hash} "
        f"found {records[1].hash}"
    ) in out


@pytest.mark.django_db(transaction=True)
def test_an_insert_that_could_not_see_the_last_row_is_refused(alice):
    application = application_submit(applicant=alice, version=published_version(), start=False)
    event(application, kind="submitted", actor=alice)
    # A snapshot older than the lock could miss the last row and fork the chain.
    with pytest.raises(DatabaseError, match="READ COMMITTED"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        event(application, kind="late", actor=alice)
    assert audit_verify()[0].ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_valid_chain(alice, clerk_a):
    application = application_submit(applicant=alice, version=published_version(), start=False)
    writers, per_writer = 6, 15
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(number: int) -> None:
        try:
            start.wait()
            for n in range(per_writer):
                # Both tables in one transaction, in either order: one lock, so no deadlock.
                with transaction.atomic():
                    if number % 2:
                        event(application, kind="concurrent", actor=clerk_a, payload={"writer": number, "n": n})
                        DataAccessRecord.objects.create(accessor=clerk_a, applicant=alice, what="view_application")
                    else:
                        DataAccessRecord.objects.create(accessor=clerk_a, applicant=alice, what="view_application")
                        event(application, kind="concurrent", actor=clerk_a, payload={"writer": number, "n": n})
                if n == 3 and number == 0:
                    # A writer whose transaction rolls back leaves no gap in the chain.
                    with pytest.raises(RuntimeError), transaction.atomic():
                        event(application, kind="rolled back", actor=clerk_a)
                        raise RuntimeError
        except BaseException as error:  # reported below, on the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    reports = {report.table: report for report in audit_verify()}
    assert reports["workflows_applicationevent"].ok, reports["workflows_applicationevent"].broken
    assert reports["workflows_dataaccessrecord"].ok, reports["workflows_dataaccessrecord"].broken
    assert reports["workflows_applicationevent"].rows == writers * per_writer
    assert reports["workflows_dataaccessrecord"].rows == writers * per_writer
    assert not ApplicationEvent.objects.filter(kind="rolled back").exists()
