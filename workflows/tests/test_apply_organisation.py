"""Applying on behalf of an organisation one represents: its register name is prefilled as
verified, its earlier approved answers are reused, new documents and issued certificates go
into its vault, and nobody applies for an organisation they do not represent."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation
from documents.models import Certificate, Document
from workflows.apply.actions import (
    NotARepresentative,
    draft_save,
    draft_start,
    draft_upload_document,
    group_submit,
)
from workflows.engine.automatic import automatic_step_run
from workflows.models import Application, ApplicationGroup, WorkItem
from workflows.tests.test_apply_support import (  # noqa: F401
    catalogue,
    fill_everything,
    pdf_upload,
    verify_alice,
)

pytestmark = pytest.mark.django_db

USCC = "91110105MA01NH2026"


@pytest.fixture
def noodle_house(alice):
    organisation = Organisation.objects.create(name="Noodle House Catering Co., Ltd.", registration_number=USCC)
    organisation.representatives.add(alice)
    return organisation


def test_the_start_page_asks_who_the_application_is_for_and_starts_one_for_the_organisation(
    client,
    alice,
    noodle_house,
    catalogue,  # noqa: F811
):
    client.force_login(alice)
    url = reverse("workflows:apply-start-service", args=[catalogue.licence.code])
    page = client.get(url).content.decode()
    assert "Who are you applying for?" in page and "Noodle House Catering Co., Ltd." in page and USCC in page
    response = client.post(url, {"on_behalf": noodle_house.pk})
    assert response.status_code == 302
    group = ApplicationGroup.objects.get(applicant=alice)
    assert group.organisation == noodle_house
    # The register's name is prefilled and marked verified.
    assert group.data["business.name"] == "Noodle House Catering Co., Ltd."
    section = client.get(reverse("workflows:apply-section", args=[group.pk, 2])).content.decode()
    assert 'value="Noodle House Catering Co., Ltd."' in section and ">Verified<" in section


def test_choosing_nothing_applies_for_yourself(client, alice, noodle_house, catalogue):  # noqa: F811
    client.force_login(alice)
    client.post(reverse("workflows:apply-start-service", args=[catalogue.licence.code]), {"on_behalf": ""})
    group = ApplicationGroup.objects.get(applicant=alice)
    assert group.organisation is None and "business.name" not in group.data


def test_nobody_applies_for_an_organisation_they_do_not_represent(client, bob, noodle_house, catalogue):  # noqa: F811
    client.force_login(bob)
    url = reverse("workflows:apply-start-service", args=[catalogue.licence.code])
    assert "Who are you applying for?" not in client.get(url).content.decode()  # Bob represents nobody
    response = client.post(url, {"on_behalf": noodle_house.pk})
    assert response.status_code == 400
    assert "Choose yourself or one of the organisations you represent." in response.content.decode()
    assert not ApplicationGroup.objects.filter(applicant=bob).exists()
    with pytest.raises(NotARepresentative):
        draft_start(applicant=bob, service=catalogue.licence, organisation=noodle_house)
    assert not ApplicationGroup.objects.filter(applicant=bob).exists()
    # The API says the same.
    response = client.post(
        "/api/drafts/",
        {"service": catalogue.licence.code, "organisation": USCC},
        content_type="application/json",
    )
    assert response.status_code == 400 and "organisation" in response.json()


def test_the_api_starts_a_draft_for_the_organisation(client, alice, noodle_house, catalogue):  # noqa: F811
    client.force_login(alice)
    response = client.post(
        "/api/drafts/",
        {"service": catalogue.licence.code, "organisation": USCC},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["organisation"] == USCC
    assert response.json()["data"]["business.name"] == "Noodle House Catering Co., Ltd."


def test_changing_the_register_name_is_flagged_for_the_clerk(alice, noodle_house, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence, organisation=noodle_house)
    draft_save(applicant=alice, group_id=group.pk, values={"business.name": "Noodle Palace"})
    group.refresh_from_db()
    assert group.changed_verified == ["business.name"]


def test_uploads_and_the_certificate_go_into_the_organisations_vault(
    alice,
    bob,
    noodle_house,
    catalogue,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    verify_alice(alice)
    group = draft_start(applicant=alice, service=catalogue.licence, organisation=noodle_house)
    attachment = draft_upload_document(
        applicant=alice, group_id=group.pk, document_type=catalogue.lease, uploaded_file=pdf_upload("lease.pdf")
    )
    assert attachment.document.owner is None and attachment.document.owner_organisation == noodle_house
    fill_everything(group, alice, catalogue)
    with django_capture_on_commit_callbacks(execute=True):  # the engine routes it (tasks run in-process)
        outcome = group_submit(applicant=alice, group_id=group.pk, idempotency_key="org-1")
    (application,) = outcome.applications
    issue = WorkItem.objects.get(application=application, step_key="issue")
    automatic_step_run(work_item_id=issue.pk)
    certificate = Certificate.objects.get(application_number=application.number)
    assert certificate.document.owner_organisation == noodle_house and certificate.document.owner is None
    assert certificate.holder_name == "Noodle House Catering Co., Ltd."
    # Another representative sees the organisation's certificate in their vault; Bob does not.
    colleague = type(alice).objects.create_user(username="colleague", password="x")
    noodle_house.representatives.add(colleague)
    from documents.selectors import documents_for_user

    assert certificate.document in documents_for_user(user=colleague)
    assert certificate.document not in documents_for_user(user=bob)
    assert not Document.objects.filter(owner=alice, document_type__code="business-licence").exists()


def test_the_organisations_earlier_approved_answers_are_reused_by_any_representative(
    alice,
    noodle_house,
    catalogue,  # noqa: F811
):
    colleague = type(alice).objects.create_user(username="colleague", password="x")
    noodle_house.representatives.add(colleague)
    earlier = ApplicationGroup.objects.create(applicant=alice, organisation=noodle_house, submitted_at=timezone.now())
    Application.objects.create(
        group=earlier,
        applicant=alice,
        number="2025-MKT-000031",
        service=catalogue.tax,
        service_version=catalogue.version(catalogue.tax),
        status=Application.Status.APPROVED,
        data={"business.floor_area_m2": 120, "business.kind": "restaurant"},
        submitted_at=timezone.now(),
        decided_at=timezone.now(),
    )
    for_the_business = draft_start(applicant=colleague, service=catalogue.licence, organisation=noodle_house)
    assert str(for_the_business.data["business.floor_area_m2"]) == "120"
    # Applying for herself, Alice is not offered the organisation's answers.
    for_herself = draft_start(applicant=alice, service=catalogue.licence)
    assert "business.floor_area_m2" not in for_herself.data


def test_the_clerk_and_the_applicant_see_who_the_application_is_for(
    client,
    alice,
    clerk_a,
    noodle_house,
    catalogue,  # noqa: F811
):
    verify_alice(alice)
    group = draft_start(applicant=alice, service=catalogue.licence, organisation=noodle_house)
    fill_everything(group, alice, catalogue)
    (application,) = group_submit(applicant=alice, group_id=group.pk, idempotency_key="org-2").applications
    client.force_login(alice)
    assert "for Noodle House Catering Co., Ltd." in client.get(reverse("workflows:apply-list")).content.decode()
    detail = client.get(reverse("workflows:progress-application", args=[application.number])).content.decode()
    assert "On behalf of" in detail and "Noodle House Catering Co., Ltd." in detail
    receipt = client.get(reverse("workflows:apply-receipt", args=[group.pk])).content.decode()
    assert "On behalf of Noodle House Catering Co., Ltd." in receipt


def test_the_clerk_sees_the_organisation_on_the_work_item(client, alice, clerk_a, noodle_house):
    from workflows.tests.test_workbench_support import routed_application, step, version_with

    application = routed_application(applicant=alice, version=version_with())
    ApplicationGroup.objects.filter(pk=application.group_id).update(organisation=noodle_house)
    client.force_login(clerk_a)
    page = client.get(f"/workbench/items/{step(application).pk}/").content.decode()
    assert f"on behalf of Noodle House Catering Co., Ltd. (unified social credit code {USCC})" in page


# --- Every representative follows the organisation's applications ----------------------------


@pytest.fixture
def colleague(alice, noodle_house):
    person = type(alice).objects.create_user(username="colleague", password="x", display_name="Chen Colleague")
    noodle_house.representatives.add(person)
    return person


@pytest.fixture
def for_the_business(alice, noodle_house, clerk_a):
    from workflows.tests.test_workbench_support import routed_application, version_with

    application = routed_application(applicant=alice, version=version_with())
    ApplicationGroup.objects.filter(pk=application.group_id).update(organisation=noodle_house, number="G-ORG-1")
    application.refresh_from_db()
    return application


def test_a_colleague_follows_the_organisations_application_and_outsiders_get_404(
    client, colleague, bob, noodle_house, for_the_business
):
    number = for_the_business.number
    pages = [
        reverse("workflows:progress-application", args=[number]),
        reverse("workflows:progress-group", args=["G-ORG-1"]),
        reverse("workflows:progress-withdraw", args=[number]),
    ]
    client.force_login(colleague)
    for url in pages:
        assert client.get(url).status_code == 200, url
    assert client.get(f"/api/my/applications/{number}/").status_code == 200
    client.force_login(bob)
    for url in pages:
        assert client.get(url).status_code == 404, url
    assert client.get(f"/api/my/applications/{number}/").status_code == 404
    # Someone who stops representing the organisation stops following its applications.
    noodle_house.representatives.remove(colleague)
    client.force_login(colleague)
    assert client.get(pages[0]).status_code == 404


def test_a_colleague_answers_the_correction_with_a_document_of_the_organisations_vault(
    bob, colleague, clerk_a, noodle_house, for_the_business
):
    from workflows.engine.actions import correction_request, correction_submit, work_item_claim
    from workflows.engine.errors import TransitionRefused
    from workflows.tests.test_apply_support import vault_document
    from workflows.tests.test_workbench_support import step

    item = step(for_the_business)
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    lease_type = for_the_business.service_version.materials.first().document_type
    correction_request(work_item_id=item.pk, actor=clerk_a, fields=[], materials=[lease_type.code], message="Newer")
    # Someone else's document cannot be slipped in, and an outsider cannot answer at all.
    bobs_lease = vault_document(bob, lease_type)
    with pytest.raises(TransitionRefused, match="not in your vault"):
        correction_submit(
            application_id=for_the_business.pk, applicant=colleague, data={}, documents={lease_type.code: bobs_lease.pk}
        )
    with pytest.raises(TransitionRefused, match="does not exist"):
        correction_submit(application_id=for_the_business.pk, applicant=bob, data={}, documents={})
    organisation_lease = organisation_document(noodle_house, colleague, lease_type)
    application = correction_submit(
        application_id=for_the_business.pk,
        applicant=colleague,
        data={},
        documents={lease_type.code: organisation_lease.pk},
    )
    assert application.status == Application.Status.IN_PROGRESS


def organisation_document(organisation, representative, document_type):
    from documents.actions import document_upload

    return document_upload(
        owner=representative,
        organisation=organisation,
        document_type=document_type,
        uploaded_file=pdf_upload("company lease.pdf"),
    )


def test_a_colleague_withdraws_for_the_organisation_but_an_outsider_cannot(bob, colleague, for_the_business):
    from workflows.engine.actions import application_withdraw
    from workflows.engine.errors import TransitionRefused

    with pytest.raises(TransitionRefused, match="does not exist"):
        application_withdraw(application_id=for_the_business.pk, applicant=bob)
    application_withdraw(application_id=for_the_business.pk, applicant=colleague)
    for_the_business.refresh_from_db()
    assert for_the_business.status == Application.Status.WITHDRAWN


def test_my_applications_lists_what_colleagues_made_for_the_organisation(
    client, alice, bob, colleague, for_the_business
):
    client.force_login(colleague)
    page = client.get(reverse("workflows:apply-list")).content.decode()
    assert "Made by colleagues for organisations you represent" in page
    assert for_the_business.number in page and "for Noodle House Catering Co., Ltd., by Alice Wang" in page
    client.force_login(bob)
    page = client.get(reverse("workflows:apply-list")).content.decode()
    assert for_the_business.number not in page and "Made by colleagues" not in page
    client.force_login(alice)  # her own are listed as hers, not again as a colleague's
    assert "Made by colleagues" not in client.get(reverse("workflows:apply-list")).content.decode()


def test_every_representative_is_told_of_the_decision_and_only_the_applicant_is_asked_to_rate(
    alice, bob, colleague, clerk_a, for_the_business, django_capture_on_commit_callbacks
):
    from workflows.engine.actions import work_item_claim, work_item_decide
    from workflows.models import Notification
    from workflows.tests.test_workbench_support import step

    item = step(for_the_business)
    with django_capture_on_commit_callbacks(execute=True):
        work_item_claim(work_item_id=item.pk, clerk=clerk_a)
        work_item_decide(work_item_id=item.pk, actor=clerk_a, decision="approved")
    decisions = Notification.objects.filter(application=for_the_business, event=Notification.Event.DECISION)
    assert {n.user for n in decisions} == {alice, colleague}
    invitations = Notification.objects.filter(application=for_the_business, event=Notification.Event.RATING_INVITATION)
    assert {n.user for n in invitations} == {alice}
    assert not Notification.objects.filter(user=bob).exists()
