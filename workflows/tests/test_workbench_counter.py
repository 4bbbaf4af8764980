"""Counter filing: a counter clerk files for a walk-in person identified by resident ID, with
consent recorded, for one service or a life event; paper documents are scanned into the
person's vault; the application is the person's and appears in their account."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from documents.models import Document
from services.models import Service
from workflows.apply.actions import ServiceUnavailable
from workflows.models import Application, ApplicationGroup, DataAccessRecord, GroupDocument
from workflows.tests.factories import VALID_ID, supporting_type
from workflows.tests.test_apply_support import GOOD_ANSWERS, Catalogue, build_catalogue, pdf_upload, vault_document
from workflows.tests.test_workbench_support import attach_lease, routed_application, version_with
from workflows.workbench.actions import CounterIdentity, counter_draft_start

pytestmark = pytest.mark.django_db

CHECKED = CounterIdentity(document="resident_id_card", number=VALID_ID, checked_in_person=True)


@pytest.fixture
def counter_clerk(department_a):
    return MembershipFactory(
        user=UserFactory(username="counter.a", display_name="Counter Clerk", is_staff=True),
        department=department_a,
        role=Role.COUNTER_CLERK,
    ).user


@pytest.fixture
def walk_in(alice):
    alice.resident_id = VALID_ID
    alice.save(update_fields=["resident_id"])
    return alice


@pytest.fixture
def version(department_a, department_b):
    return version_with()


@pytest.fixture
def catalogue(db) -> Catalogue:
    """Three departments' services bundled as the life event "Open a restaurant"."""
    return build_catalogue()


# The identity document the clerk checks in person at every visit.
IDENTITY_CHECK = {
    "identity_document": "resident_id_card",
    "identity_document_number": VALID_ID,
    "identity_checked": "on",
}


def start(client, version=None, resident_id=VALID_ID, consent=True, applies_for=None):
    data = {
        "resident_id": resident_id,
        "applies_for": applies_for or f"service:{version.service.code}",
        **IDENTITY_CHECK,
    }
    if consent:
        data["consent"] = "on"
    return client.post("/workbench/counter/", data)


def answers(**values: str) -> dict[str, str]:
    """POST data for questions of the counter form, as the page sends them (each with its base)."""
    data = {}
    for key, value in values.items():
        name = key.replace(".", "__")
        data[name] = value
        data[f"base__{name}"] = ""
    return data


def disguised_pdf(name: str = "lease.pdf") -> SimpleUploadedFile:
    """A text file that only says it is a PDF."""
    return SimpleUploadedFile(name, b"Just some notes, not a lease.\n" * 20, content_type="application/pdf")


@pytest.fixture
def counter_draft(client, counter_clerk, walk_in, version):
    client.force_login(counter_clerk)
    start(client, version)
    return ApplicationGroup.objects.get(filed_by=counter_clerk)


def test_filing_for_a_walk_in_person_puts_the_application_in_their_account(client, counter_clerk, walk_in, version):
    earlier = routed_application(applicant=walk_in, version=version)
    lease = attach_lease(earlier)  # in Alice's vault already: reused, not uploaded again
    client.force_login(counter_clerk)
    response = start(client, version)
    group = ApplicationGroup.objects.get(filed_by=counter_clerk)
    assert response.status_code == 302
    assert group.applicant == walk_in and group.consent_recorded_at is not None

    form_page = client.get(response.url).content.decode()
    assert "Alice Wang" in form_page
    assert "110105********002X" in form_page
    assert "lease.pdf" in form_page

    response = client.post(
        response.url,
        {
            "person__full_name": "Alice Wang",
            "base__person__full_name": "",
            "person__id_number": VALID_ID,
            "base__person__id_number": "",
            "business__name": "Tea Corner",
            "base__business__name": "",
            "business__floor_area_m2": "80",
            "base__business__floor_area_m2": "",
            "material__lease_contract": str(lease.pk),
            "submit": "1",
        },
    )
    # First the answers, to read with the person; nothing is filed yet.
    check = response.content.decode()
    assert response.status_code == 200 and "Check the answers with them" in check
    assert "Tea Corner" in check and "lease.pdf" in check
    assert not Application.objects.filter(group=group).exists()
    response = client.post(url_of(response), {"submit": "1", "confirmed": "1"}, follow=True)
    assert "Submitted" in response.content.decode()
    group.refresh_from_db()
    application = Application.objects.get(group=group)
    assert application.applicant == walk_in
    assert application.data["business.name"] == "Tea Corner"
    assert group.documents.get().document == lease

    client.force_login(walk_in)
    assert application.number in client.get("/applications/").content.decode()


def test_consent_must_be_recorded(client, counter_clerk, walk_in, version):
    client.force_login(counter_clerk)
    response = start(client, version, consent=False)
    assert response.status_code == 400
    assert "Record the person&#x27;s consent before filing for them." in response.content.decode()
    assert not ApplicationGroup.objects.exists()


def test_an_unknown_resident_id_is_explained_and_kept(client, counter_clerk, walk_in, version):
    client.force_login(counter_clerk)
    response = start(client, version, resident_id="110101199003070014")
    body = response.content.decode()
    assert response.status_code == 400
    assert "No account has this resident ID number." in body
    assert 'value="110101199003070014"' in body
    assert not ApplicationGroup.objects.exists()


def test_a_counter_draft_is_only_for_the_clerk_who_started_it(client, counter_clerk, clerk_a, walk_in, version):
    client.force_login(counter_clerk)
    start(client, version)
    group = ApplicationGroup.objects.get(filed_by=counter_clerk)
    client.force_login(clerk_a)
    assert client.get(f"/workbench/counter/{group.pk}/").status_code == 404
    client.force_login(walk_in)
    assert client.get(f"/workbench/counter/{group.pk}/").status_code == 404


def test_the_counter_is_404_for_citizens(client, bob):
    client.force_login(bob)
    assert client.get("/workbench/counter/").status_code == 404


# --- Choosing what the person applies for ------------------------------------------------------


def test_the_start_page_offers_services_and_life_events_in_one_labelled_list(
    client,
    counter_clerk,
    version,
    catalogue,
):
    client.force_login(counter_clerk)
    page = client.get("/workbench/counter/").content.decode()
    assert '<label class="govuk-label" for="id_applies_for">Service or life event</label>' in page
    assert '<optgroup label="Services">' in page and '<optgroup label="Life events">' in page
    assert f'<option value="service:{version.service.code}">{version.service.name}</option>' in page
    assert '<option value="life-event:open-a-restaurant">Open a restaurant</option>' in page


def test_a_life_event_is_not_offered_when_one_of_its_services_is_not_at_the_counter(
    client,
    counter_clerk,
    walk_in,
    catalogue,
):
    Service.objects.filter(pk=catalogue.fire.pk).update(at_counter=False)
    client.force_login(counter_clerk)
    assert "life-event:open-a-restaurant" not in client.get("/workbench/counter/").content.decode()
    response = start(client, applies_for="life-event:open-a-restaurant")
    assert response.status_code == 400
    assert "Choose a service or life event from the list." in response.content.decode()
    assert not ApplicationGroup.objects.exists()


def test_choosing_nothing_is_refused_with_a_message_linked_to_the_list(client, counter_clerk, walk_in, version):
    client.force_login(counter_clerk)
    response = client.post(
        "/workbench/counter/", {"resident_id": VALID_ID, "applies_for": "", "consent": "on", **IDENTITY_CHECK}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert '<a href="#id_applies_for">Choose the service or life event the person applies for.</a>' in page
    assert 'id="id_applies_for-error"' in page and "govuk-form-group--error" in page
    assert 'value="11010519491231002X"' in page  # what was typed stays
    assert not ApplicationGroup.objects.exists()


@pytest.mark.parametrize("choice", ["service:no-such-service", "life-event:no-such-event", "open-a-restaurant"])
def test_an_unknown_service_or_life_event_is_refused_with_a_message(
    client,
    counter_clerk,
    walk_in,
    catalogue,
    choice,
):
    client.force_login(counter_clerk)
    response = start(client, applies_for=choice)
    assert response.status_code == 400
    assert '<a href="#id_applies_for">Choose a service or life event from the list.</a>' in response.content.decode()
    assert not ApplicationGroup.objects.exists()


def test_a_service_not_offered_at_the_counter_is_refused(client, counter_clerk, walk_in, version):
    Service.objects.filter(pk=version.service.pk).update(at_counter=False)
    client.force_login(counter_clerk)
    response = start(client, version)
    assert response.status_code == 400
    assert "Choose a service or life event from the list." in response.content.decode()
    assert not ApplicationGroup.objects.exists()
    # The action refuses it too, whoever calls it.
    service = Service.objects.get(pk=version.service.pk)
    with pytest.raises(ServiceUnavailable, match="not offered at the counter"):
        counter_draft_start(clerk=counter_clerk, resident_id=VALID_ID, consent=True, identity=CHECKED, service=service)
    assert not ApplicationGroup.objects.exists()


# --- A life event at the counter ------------------------------------------------------------


def test_a_life_event_filed_at_the_counter_makes_one_application_per_service_in_the_persons_account(
    client,
    counter_clerk,
    walk_in,
    catalogue,
):
    lease = vault_document(walk_in, catalogue.lease)  # in the vault already: picked, not scanned again
    client.force_login(counter_clerk)
    response = start(client, applies_for="life-event:open-a-restaurant")
    assert response.status_code == 302
    group = ApplicationGroup.objects.get(filed_by=counter_clerk)
    assert group.applicant == walk_in and group.life_event == catalogue.restaurant
    assert group.consent_recorded_at is not None

    page = client.get(response.url).content.decode()  # the whole merged form on one page
    assert '<h1 class="govuk-heading-l">Open a restaurant</h1>' in page
    assert "Business licence, Fire safety check, Tax registration" in page
    assert page.count('name="person__full_name"') == 1  # asked once for three services
    assert 'name="business__has_employees"' in page
    assert page.count('name="material__lease"') == 1 and 'name="material__id_card_copy__file"' in page

    response = client.post(
        response.url,
        {
            **answers(**GOOD_ANSWERS),
            "material__lease": str(lease.pk),
            "material__id_card_copy__file": pdf_upload("id card scan.pdf", marker="counter"),
            "submit": "1",
        },
    )
    assert response.status_code == 200 and "Check the answers with them" in response.content.decode()
    response = client.post(url_of(response), {"submit": "1", "confirmed": "1"})
    assert response.status_code == 302, response.content.decode()
    assert response.url == reverse("workflows:workbench-counter-done", args=[group.pk])
    applications = Application.objects.filter(group=group)
    assert sorted(a.service.code for a in applications) == ["business-licence", "fire-safety-check", "tax-registration"]
    assert all(a.applicant == walk_in for a in applications)
    done = client.get(response.url).content.decode()
    assert all(a.number in done for a in applications)

    group.refresh_from_db()
    client.force_login(walk_in)
    mine = client.get("/applications/").content.decode()
    assert group.number in mine and all(a.number in mine for a in applications)
    # The scanned ID card is the person's now, there for their next application.
    scan = Document.objects.get(document_type=catalogue.id_card)
    assert scan.owner == walk_in and scan.display_name == "id card scan.pdf"
    assert group.documents.get(document_type=catalogue.id_card).document == scan
    assert "Scanned at the counter" in client.get(reverse("documents:vault")).content.decode()


# --- Paper documents scanned at the counter ----------------------------------------------------


def test_a_scan_uploaded_at_the_counter_lands_in_the_persons_vault_and_is_attached(
    client, counter_clerk, walk_in, counter_draft
):
    url = f"/workbench/counter/{counter_draft.pk}/"
    assert 'enctype="multipart/form-data"' in client.get(url).content.decode()
    response = client.post(
        url, {**answers(**{"business.name": "Tea Corner"}), "material__lease_contract__file": pdf_upload("lease.pdf")}
    )
    assert response.status_code == 302
    document = Document.objects.get(document_type=supporting_type())
    assert document.owner == walk_in  # the person's vault, not the clerk's
    assert document.display_name == "lease.pdf" and document.source == Document.Source.COUNTER
    assert GroupDocument.objects.get(group=counter_draft).document == document
    assert not Document.objects.filter(owner=counter_clerk).exists()
    assert "lease.pdf" in client.get(url).content.decode()  # now offered (and chosen) from the vault


def test_a_disguised_file_is_refused_at_its_document_and_the_typed_answers_are_kept(
    client, counter_clerk, walk_in, counter_draft
):
    url = f"/workbench/counter/{counter_draft.pk}/"
    response = client.post(
        url,
        {
            **answers(**{"business.name": "Tea Corner", "business.floor_area_m2": "eighty"}),
            "material__lease_contract__file": disguised_pdf(),
            "submit": "1",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in page
    assert '<a href="#material__lease_contract__file">Lease contract: The file must be a' in page
    assert "whatever its name says" in page
    assert 'id="material__lease_contract-error"' in page and "govuk-file-upload--error" in page
    # Both answers typed in the same POST are on the page again: the valid one saved, the other as typed.
    assert 'value="Tea Corner"' in page and 'value="eighty"' in page
    counter_draft.refresh_from_db()
    assert counter_draft.data["business.name"] == "Tea Corner"
    assert counter_draft.is_draft
    assert not Document.objects.exists() and not GroupDocument.objects.exists()


def url_of(response) -> str:
    return response.wsgi_request.path


def test_what_is_missing_links_to_its_question(client, counter_clerk, walk_in, catalogue):
    client.force_login(counter_clerk)
    url = start(client, applies_for="life-event:open-a-restaurant").url
    response = client.post(url, {**answers(**{"business.name": "Tea Corner"}), "submit": "1"})
    page = response.content.decode()
    assert response.status_code == 400 and "There is a problem" in page
    assert '<a href="#id_business__floor_area_m2">' in page
    assert '<a href="#answers">' not in page


# --- Outsiders ------------------------------------------------------------------------------


def test_outsiders_get_404_and_cannot_upload_into_a_counter_draft(
    client, counter_clerk, clerk_a, clerk_b, bob, walk_in, counter_draft
):
    url = f"/workbench/counter/{counter_draft.pk}/"
    for outsider in (clerk_b, clerk_a, bob, walk_in):  # another department, a colleague, citizens
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        response = client.post(
            url,
            {
                **answers(**{"business.name": "Hijacked"}),
                "material__lease_contract__file": pdf_upload("forged.pdf", marker=outsider.username),
                "submit": "1",
            },
        )
        assert response.status_code == 404
    assert not Document.objects.exists()
    assert not GroupDocument.objects.exists()
    counter_draft.refresh_from_db()
    assert counter_draft.is_draft and counter_draft.data.get("business.name") != "Hijacked"
    assert not DataAccessRecord.objects.exists()


# --- Who looked at the person's data -----------------------------------------------------------


def test_each_view_of_the_counter_form_is_recorded_for_the_person_to_see(
    client, counter_clerk, department_a, walk_in, counter_draft
):
    url = f"/workbench/counter/{counter_draft.pk}/"
    client.get(url)
    client.get(url)
    records = DataAccessRecord.objects.filter(applicant=walk_in)
    assert records.count() == 2
    record = records.first()
    assert record.accessor == counter_clerk and record.department == department_a
    assert record.application is None and record.work_item is None
    assert record.what == DataAccessRecord.What.COUNTER_FILING

    client.force_login(walk_in)
    page = client.get(reverse("workflows:progress-access-log")).content.decode()
    assert "Counter Clerk" in page and "Market Regulation" in page
    assert "Saw your details and documents to file for you at the counter" in page


# --- For an organisation the person represents ------------------------------------------------


def test_the_counter_files_for_an_organisation_the_person_represents(client, counter_clerk, walk_in, version):
    from accounts.models import Organisation

    company = Organisation.objects.create(
        name="Noodle House Catering Co., Ltd.", registration_number="91110105MA01NH2026"
    )
    stranger = Organisation.objects.create(name="Someone Else Ltd.", registration_number="91110105MA01XX0001")
    company.representatives.add(walk_in)
    client.force_login(counter_clerk)
    data = {
        "resident_id": VALID_ID,
        "applies_for": f"service:{version.service.code}",
        "consent": "on",
        **IDENTITY_CHECK,
    }
    refused = client.post("/workbench/counter/", {**data, "organisation": stranger.registration_number})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "This person does not represent an organisation with that unified social credit code." in body
    assert 'value="91110105MA01XX0001"' in body  # what was typed stays
    assert not ApplicationGroup.objects.exists()
    response = client.post("/workbench/counter/", {**data, "organisation": company.registration_number.lower()})
    assert response.status_code == 302
    group = ApplicationGroup.objects.get(filed_by=counter_clerk)
    assert group.applicant == walk_in and group.organisation == company
    assert "for Noodle House Catering Co., Ltd." in client.get(response.url).content.decode()
