"""The work item page: the applicant's data by the pinned form, masked until revealed, the
documents, the route picture, the history, notes and the statutory clock."""

import pytest
from django.test import override_settings
from django.utils.formats import date_format

from documents.actions import document_issue
from documents.models import Document
from services.models import DocumentType
from workflows import clock
from workflows.engine.actions import work_item_claim
from workflows.models import ApplicationGroup, DataAccessRecord, GroupDocument, Note
from workflows.tests.factories import VALID_ID
from workflows.tests.test_workbench_support import attach_lease, make_pdf, routed_application, step, version_with

pytestmark = pytest.mark.django_db

MASKED = "110105********002X"


@pytest.fixture
def application(alice, department_a, department_b):
    return routed_application(applicant=alice, version=version_with(), **{"business.name": "Noodle House"})


@pytest.fixture
def item(application):
    return step(application)


@pytest.fixture
def page(client, clerk_a, item):
    client.force_login(clerk_a)

    def get():
        response = client.get(f"/workbench/items/{item.pk}/")
        assert response.status_code == 200
        return response.content.decode()

    return get


def test_it_shows_the_answers_by_section_with_labels_from_the_dictionary(page, application):
    body = page()
    assert application.number in body
    assert "Applicant" in body and "Business" in body  # sections of the pinned form
    assert "Business name" in body and "Noodle House" in body
    assert "Resident ID number" in body


def test_the_id_number_is_masked_until_revealed(client, page, item):
    body = page()
    assert MASKED in body
    assert VALID_ID not in body
    response = client.post(f"/workbench/items/{item.pk}/reveal/", {"field": "person.id_number"})
    assert VALID_ID in response.content.decode()
    assert "this look is recorded" in response.content.decode()


def test_reveal_with_htmx_returns_only_the_row(client, page, item):
    page()
    response = client.post(f"/workbench/items/{item.pk}/reveal/", {"field": "person.id_number"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert VALID_ID in body and "<html" not in body


def test_revealing_a_field_that_is_not_protected_or_not_on_the_form_is_404(client, page, item):
    page()
    assert client.post(f"/workbench/items/{item.pk}/reveal/", {"field": "business.name"}).status_code == 404
    assert client.post(f"/workbench/items/{item.pk}/reveal/", {"field": "secret.key"}).status_code == 404


def test_fields_changed_from_verified_values_are_flagged(page, application):
    ApplicationGroup.objects.filter(pk=application.group_id).update(changed_verified=["business.name"])
    assert "Changed from the verified value" in page()


def test_documents_open_in_the_browser(client, page, application, item):
    document = attach_lease(application)
    assert "lease.pdf" in page()
    response = client.get(f"/workbench/items/{item.pk}/documents/{document.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline")
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_a_document_not_yet_checked_for_viruses_is_named_but_offers_nothing_to_open(client, page, application, item):
    with override_settings(CLAMD_SOCKET="", CLAMD_HOST="", DOCUMENT_SCAN_REQUIRED=False):
        document = attach_lease(application, "Unscanned lease")
    assert document.scan_status == Document.ScanStatus.NOT_SCANNED
    body = page()
    assert "lease.pdf" in body and "Not yet checked" in body
    assert "Virus check: Not yet checked for viruses." in body
    assert f"/documents/{document.pk}/" not in body  # no link, no preview
    assert client.get(f"/workbench/items/{item.pk}/documents/{document.pk}/").status_code == 404
    assert not DataAccessRecord.objects.filter(document=document).exists()


@pytest.mark.parametrize("status", ["pending", "infected", "error"])
def test_a_document_in_any_state_but_clean_is_not_served(client, page, application, item, status):
    document = attach_lease(application)
    Document.objects.filter(pk=document.pk).update(scan_status=status)
    page()
    assert client.get(f"/workbench/items/{item.pk}/documents/{document.pk}/").status_code == 404


def test_a_document_not_attached_to_this_application_is_404(client, page, alice, bob, item, department_a):
    other = routed_application(applicant=bob, version=version_with())
    foreign = attach_lease(other, "Bob's lease")
    page()
    assert client.get(f"/workbench/items/{item.pk}/documents/{foreign.pk}/").status_code == 404


def test_the_route_picture_history_and_clock_are_shown(page, item):
    body = page()
    assert "<svg" in body
    assert "Statutory clock" in body
    # Due by the last day the limit allows, as the reader's language writes it (11 Dec 2026).
    assert date_format(clock.due_date(item.statutory_due_at), "SHORT_DATE_FORMAT") in body
    assert "Step opened" in body


def test_the_assignee_sees_the_decision_and_correction_forms(client, clerk_a, page, item):
    assert "Record the decision" not in page()
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    body = page()
    assert "Record the decision" in body
    assert "The lease does not cover the premises" in body  # the service's rejection reasons
    assert "Send the correction request" in body


def test_notes_are_added_and_shown(client, page, item, clerk_a):
    response = client.post(f"/workbench/items/{item.pk}/notes/", {"text": "Called the landlord."})
    assert response.status_code == 302
    assert Note.objects.get().author == clerk_a
    assert "Called the landlord." in page()


def test_an_empty_note_is_refused_next_to_the_field(client, page, item):
    page()
    response = client.post(f"/workbench/items/{item.pk}/notes/", {"text": "  "})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Write the note first." in body
    assert "There is a problem" in body


def test_the_history_shows_each_event_once_in_staff_words(client, clerk_a, item, django_capture_on_commit_callbacks):
    from workflows.engine.actions import correction_request

    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    client.force_login(clerk_a)
    claimed = client.get(f"/workbench/items/{item.pk}/").content.decode()
    # Putting a step back is an ordinary action, not a warning.
    assert 'govuk-button--secondary" data-module="govuk-button">Put it back in the queue' in claimed
    assert "govuk-button--warning" not in claimed
    with django_capture_on_commit_callbacks(execute=True):
        correction_request(
            work_item_id=item.pk, actor=clerk_a, fields=["business.name"], materials=[], message="Check the name"
        )
    client.force_login(clerk_a)
    body = client.get(f"/workbench/items/{item.pk}/").content.decode()
    history = body[body.index('id="history"') :]
    assert history.count("Correction requested") == 1
    assert "Waiting for you" not in body and "waiting for the applicant" in body


def test_a_document_of_another_service_of_the_bundle_is_not_shown_nor_served(client, page, application, item):
    # The bundle also holds a health certificate that only another department's service asks for.
    health = DocumentType.objects.create(
        code="health-certificate",
        name_en="Health certificate",
        name_zh="健康证明",
        allowed_content_types=["application/pdf"],
    )
    other = document_issue(
        owner=application.applicant, document_type=health, content=make_pdf("Health"), display_name="health.pdf"
    )
    GroupDocument.objects.create(group=application.group, document_type=health, document=other)
    lease = attach_lease(application)
    body = page()
    assert "lease.pdf" in body and "health.pdf" not in body
    assert client.get(f"/workbench/items/{item.pk}/documents/{other.pk}/").status_code == 404
    assert client.get(f"/workbench/items/{item.pk}/documents/{lease.pk}/").status_code == 200
