"""Retention: a finished application keeps its answers and documents for its service's
retention_days after the decision; then the sweep removes them, records what it did, and keeps
the audit trail. Tested across the boundary, and twice in a row."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from documents.models import Document
from documents.storage import private_storage
from workflows.models import ApplicationEvent, GroupDocument, RetentionRecord
from workflows.privacy.retention import applications_due, retention_sweep
from workflows.tests.factories import supporting_type
from workflows.tests.progress_support import decide, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided(alice, clerk_a, django_capture_on_commit_callbacks):
    """Alice's approved application with a lease in her vault attached; 30 days of retention."""
    application = submit(django_capture_on_commit_callbacks, applicant=alice)
    service = application.service
    service.retention_days = 30
    service.save(update_fields=["retention_days"])
    stored = private_storage.save("retention-test/lease.pdf", __import__("io").BytesIO(b"%PDF-1.4 lease"))
    lease = Document.objects.create(
        owner=alice, document_type=supporting_type(), file=stored, display_name="lease.pdf",
        sha256="1" * 64, size=14, content_type="application/pdf", scan_status=Document.ScanStatus.CLEAN,
    )  # fmt: skip
    GroupDocument.objects.create(group=application.group, document_type=lease.document_type, document=lease)
    decide(django_capture_on_commit_callbacks, application, "licence", clerk_a)
    application.refresh_from_db()
    assert application.is_finished and application.decided_at is not None
    return application


def sweep(at, capture):
    with time_machine.travel(at, tick=False), capture(execute=True):
        return retention_sweep()


def test_one_day_before_the_end_nothing_is_removed(decided, django_capture_on_commit_callbacks):
    result = sweep(decided.decided_at + timedelta(days=29), django_capture_on_commit_callbacks)
    assert result.applications == 0
    decided.refresh_from_db()
    assert decided.data["business.name"] == "Noodle House"
    assert not RetentionRecord.objects.exists()
    lease = decided.group.documents.get().document
    assert lease.erased_at is None and private_storage.exists(lease.file.name)


@pytest.mark.parametrize("after", [timedelta(0), timedelta(days=1), timedelta(days=400)])
def test_at_and_after_the_end_answers_and_documents_are_removed(
    decided, alice, django_capture_on_commit_callbacks, after
):
    lease = decided.group.documents.get().document
    stored_name = lease.file.name
    result = sweep(decided.decided_at + timedelta(days=30) + after, django_capture_on_commit_callbacks)
    assert (result.applications, result.documents) == (1, 1)
    decided.refresh_from_db()
    assert decided.data == {} and decided.group.data == {}
    # The application itself stays: number, status and dates are the record of what happened.
    assert decided.number and decided.status == "approved" and decided.decided_at is not None
    lease.refresh_from_db()
    assert lease.erased_at is not None and not lease.file and lease.display_name == "(removed)"
    assert not private_storage.exists(stored_name)
    assert not Document.objects.filter(owner=alice, erased_at__isnull=True, pk=lease.pk).exists()
    record = RetentionRecord.objects.get(application=decided)
    assert record.answers_removed == 4 and record.documents_removed == 1 and record.retention_days == 30
    event = ApplicationEvent.objects.get(application=decided, kind=ApplicationEvent.Kind.DATA_REMOVED)
    # The event says that data was removed and how much, never what it was.
    assert event.payload == {"answers_removed": 4, "documents_removed": 1}
    assert "Noodle House" not in str(event.payload) + event.reason


def test_the_sweep_is_idempotent(decided, django_capture_on_commit_callbacks):
    at = decided.decided_at + timedelta(days=31)
    first = sweep(at, django_capture_on_commit_callbacks)
    events = ApplicationEvent.objects.count()
    second = sweep(at, django_capture_on_commit_callbacks)
    third = sweep(at + timedelta(days=5), django_capture_on_commit_callbacks)
    assert first.applications == 1
    assert second.applications == third.applications == 0
    assert RetentionRecord.objects.count() == 1
    assert ApplicationEvent.objects.count() == events


def test_an_application_in_progress_is_never_removed(alice, django_capture_on_commit_callbacks):
    application = submit(django_capture_on_commit_callbacks, applicant=alice)
    application.service.retention_days = 0
    application.service.save(update_fields=["retention_days"])
    result = sweep(timezone.now() + timedelta(days=5000), django_capture_on_commit_callbacks)
    assert result.applications == 0
    application.refresh_from_db()
    assert application.data["business.name"] == "Noodle House"


def test_a_document_another_kept_application_uses_stays(decided, alice, django_capture_on_commit_callbacks):
    lease = decided.group.documents.get().document
    other = submit(django_capture_on_commit_callbacks, applicant=alice)  # in progress, uses the same lease
    GroupDocument.objects.create(group=other.group, document_type=lease.document_type, document=lease)
    result = sweep(decided.decided_at + timedelta(days=31), django_capture_on_commit_callbacks)
    assert (result.applications, result.documents) == (1, 0)
    lease.refresh_from_db()
    assert lease.erased_at is None


def test_what_falls_due_is_listed_ahead(decided):
    soon = decided.decided_at + timedelta(days=5)
    assert list(applications_due(now=soon)) == []
    assert list(applications_due(now=soon, within=timedelta(days=30))) == [decided]


def test_the_management_command_sweeps(decided, capsys, django_capture_on_commit_callbacks):
    with time_machine.travel(decided.decided_at + timedelta(days=31), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            call_command("retention_sweep")
        call_command("retention_sweep")
    out = capsys.readouterr().out
    assert "Retention ended for 1 applications; 1 documents removed." in out
    assert "Retention ended for 0 applications; 0 documents removed." in out


def test_the_beat_runs_the_sweep_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["retention-sweep"]
    assert entry["task"] == "workflows.privacy.retention_sweep" and entry["schedule"] == 86400.0


def test_the_applicant_is_told_in_the_timeline(client, alice, decided, django_capture_on_commit_callbacks):
    sweep(decided.decided_at + timedelta(days=31), django_capture_on_commit_callbacks)
    client.force_login(alice)
    page = client.get(f"/applications/{decided.number}/").content.decode()
    assert "Your answers and documents were removed" in page


def test_the_admin_shows_what_falls_due_in_the_next_30_days(client, administrator, clerk_a, decided):
    url = "/admin/workflows/retentionrecord/falling-due/"
    with time_machine.travel(decided.decided_at + timedelta(days=5), tick=False):
        client.force_login(administrator)
        response = client.get(url)
        page = response.content.decode()
        assert response.status_code == 200, (response.status_code, response.get("Location"))
        assert decided.number in page
        assert "Noodle House" not in page and "Alice" not in page  # numbers and dates only
    with time_machine.travel(decided.decided_at - timedelta(days=1), tick=False):
        client.force_login(administrator)
        assert "Nothing falls due in the next 30 days." in client.get(url).content.decode()
    client.force_login(administrator)
    assert "Falling due in the next 30 days" in client.get("/admin/workflows/retentionrecord/").content.decode()
    client.force_login(clerk_a)
    assert client.get(url).status_code == 403
