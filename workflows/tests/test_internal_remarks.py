"""Internal remarks never reach the applicant: the clerk's "Internal remark (not shown to the
applicant)" on a decision and the staff notes on a step are kept off every page, API answer and
message the applicant gets. And the clerk's pages speak of "the applicant", never "you".

Each application here goes through the clerk's real pages: one is rejected with a remark, one
gets a correction request with a note and is then approved with a remark (its certificate
issued), so every surface the applicant has is filled before it is searched.
"""

import io
import zipfile

import pytest
from django.core import mail
from django.urls import reverse

from documents.models import Certificate
from workflows.engine.actions import correction_submit, work_item_claim
from workflows.engine.automatic import automatic_step_run
from workflows.models import Application, Notification
from workflows.privacy.export import data_export_build, data_export_request
from workflows.tests.test_workbench_support import routed_application, step, version_with
from workflows.transparency.sequencer import log_integrate

pytestmark = pytest.mark.django_db

SECRET = "INTERNAL-SECRET-REMARK"

REVIEW_AND_ISSUE = {
    "steps": [
        {"key": "licence", "department": "market", "kind": "review", "sla_days": 5, "label_en": "Licence"},
        {
            "key": "issue",
            "department": "market",
            "kind": "issue",
            "document_type": "food-business-licence",
            "after": ["licence"],
            "label_en": "Issue the licence",
        },
    ]
}


@pytest.fixture
def decided(client, alice, clerk_a, department_a, department_b, django_capture_on_commit_callbacks):
    """Alice's two applications after the clerk's work, every remark written through the pages."""
    rejected = routed_application(applicant=alice, version=version_with())
    corrected = routed_application(applicant=alice, version=version_with(REVIEW_AND_ISSUE))
    client.force_login(clerk_a)
    with django_capture_on_commit_callbacks(execute=True):
        item = step(rejected)
        work_item_claim(work_item_id=item.pk, clerk=clerk_a)
        client.post(f"/workbench/items/{item.pk}/notes/", {"text": f"{SECRET} (note)"})
        response = client.post(
            f"/workbench/items/{item.pk}/decide/",
            {"decision": "rejected", "reasons": ["lease"], "note": f"{SECRET} (decision)"},
        )
        assert response.status_code == 302

        item = step(corrected)
        work_item_claim(work_item_id=item.pk, clerk=clerk_a)
        client.post(f"/workbench/items/{item.pk}/notes/", {"text": f"{SECRET} (note before the correction)"})
        response = client.post(
            f"/workbench/items/{item.pk}/correction/",
            {"fields_to_correct": ["business.name"], "message": "Give the name as on the lease."},
        )
        assert response.status_code == 302
        correction_submit(application_id=corrected.pk, applicant=alice, data={"business.name": "Noodle"}, documents={})
        client.post(f"/workbench/items/{item.pk}/notes/", {"text": f"{SECRET} (note after the correction)"})
        response = client.post(
            f"/workbench/items/{item.pk}/decide/", {"decision": "approved", "note": f"{SECRET} (approval)"}
        )
        assert response.status_code == 302
        automatic_step_run(work_item_id=step(corrected, "issue").pk)
    log_integrate()
    rejected.refresh_from_db()
    corrected.refresh_from_db()
    assert rejected.status == Application.Status.REJECTED
    assert corrected.status == Application.Status.APPROVED
    client.logout()
    return rejected, corrected


def applicant_surfaces(client, alice, applications) -> dict[str, str]:
    """Everything Alice can read about her applications, by surface."""
    client.force_login(alice)
    pages: dict[str, str] = {}

    def get(name: str, url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        pages[name] = response.content.decode()

    get("my applications", reverse("workflows:apply-list"))
    get("API: my applications", "/api/my/applications/")
    for application in applications:
        get(f"page {application.number}", reverse("workflows:progress-application", args=[application.number]))
        get(f"API {application.number}", f"/api/my/applications/{application.number}/")
    get("inbox", reverse("workflows:progress-inbox"))
    get("API: notifications", "/api/notifications/")
    for notification in Notification.objects.filter(user=alice):
        get(f"message {notification.pk}", reverse("workflows:progress-message", args=[notification.pk]))
        pages[f"stored message {notification.pk}"] = " ".join(
            [notification.subject, notification.body, notification.sms_text, str(notification.context)]
        )
    for message in mail.outbox:
        pages[f"e-mail to {message.to}"] = message.subject + message.body
    get("access log", reverse("workflows:progress-access-log"))
    get("API: access log", "/api/my/access-log/")
    get("vault", reverse("documents:vault"))
    for certificate in Certificate.objects.filter(document__owner=alice):
        response = client.get(reverse("documents:download", args=[certificate.document_id]))
        assert response.status_code == 200
        pages[f"certificate {certificate.pk}"] = b"".join(response.streaming_content).decode("latin-1")  # type: ignore[attr-defined]
    # The download of everything held about her: every file of the ZIP.
    export = data_export_request(user=alice)
    assert data_export_build(export_id=export.pk) == "ready"
    response = client.get(reverse("workflows:privacy-export-download", args=[export.pk]))
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:  # type: ignore[attr-defined]
        for name in archive.namelist():
            pages[f"data export {name}"] = archive.read(name).decode("utf-8", errors="replace")
    return pages


def test_no_internal_remark_reaches_any_applicant_surface(client, alice, decided):
    pages = applicant_surfaces(client, alice, decided)
    # The surfaces are really filled: the rejection's reason and the correction's message are there.
    assert "The lease does not cover the premises" in pages[f"page {decided[0].number}"]
    assert any("Give the name as on the lease." in text for name, text in pages.items() if "message" in name)
    assert any(name.startswith("certificate") for name in pages)
    assert "The lease does not cover the premises" in "".join(
        t for n, t in pages.items() if n.startswith("data export")
    )
    leaked = sorted(name for name, text in pages.items() if SECRET in text)
    assert not leaked, f"the internal remark is shown to the applicant on: {leaked}"


def test_the_clerk_still_sees_the_remarks_and_speaks_of_the_applicant(client, clerk_a, decided):
    client.force_login(clerk_a)
    rejected, corrected = decided
    pages = {
        "queue": client.get(reverse("workflows:workbench")).content.decode(),
        "rejected item": client.get(reverse("workflows:workbench-item", args=[step(rejected).pk])).content.decode(),
        "corrected item": client.get(reverse("workflows:workbench-item", args=[step(corrected).pk])).content.decode(),
    }
    assert SECRET in pages["rejected item"]  # the clerk's own remark stays visible to staff
    for name, text in pages.items():
        assert "Waiting for you" not in text, name
        assert "Your application" not in text, name
