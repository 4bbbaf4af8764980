"""Identity bound to the account: Bob cannot apply in Alice's name on any path.

The data dictionary marks name and resident ID as bound: they are always the applicant's
verified values. Saving another value is refused at that field (the HTML form, the API, the
counter, which saves through the same action); a submission takes the verified values and is
refused while the person has none; a clerk cannot ask for them to be "corrected"; the
certificate names the verified holder."""

import pytest
from django.urls import reverse

from accounts.models import VerifiedAttribute
from services.elements import resident_id_check_character
from services.models import DataElement
from workflows.apply.actions import IdentityNotVerified, draft_save, draft_start, group_submit
from workflows.apply.selectors import verified_values, version_parts_cache_clear
from workflows.engine.actions import TransitionRefused, correction_request, work_item_claim
from workflows.models import Application, ApplicationGroup
from workflows.tests.progress_support import submit
from workflows.tests.test_apply_support import ALICE_ID, build_catalogue, fill_everything

pytestmark = pytest.mark.django_db

BOB_ID = "11010519800101001" + resident_id_check_character("11010519800101001")
ALICES = {"person.full_name": "Alice Wang", "person.id_number": ALICE_ID}


@pytest.fixture
def catalogue():
    catalogue = build_catalogue()
    DataElement.objects.filter(key__in=["person.full_name", "person.id_number"]).update(bound=True)
    version_parts_cache_clear()
    return catalogue


def verify(user, name: str, id_number: str) -> None:
    for key, value in (("person.full_name", name), ("person.id_number", id_number)):
        VerifiedAttribute.objects.create(user=user, element_key=key, value=value, source="identity")


def test_without_a_verified_identity_bob_cannot_type_alices(bob, catalogue):
    group = draft_start(applicant=bob, service=catalogue.licence)
    result = draft_save(applicant=bob, group_id=group.pk, values=ALICES)
    assert set(result.errors) == {"person.full_name", "person.id_number"}
    assert "comes from your verified identity" in result.errors["person.full_name"][0]
    group.refresh_from_db()
    assert "person.full_name" not in group.data and "person.id_number" not in group.data


def test_without_a_verified_identity_the_submission_is_refused_and_the_draft_kept(bob, catalogue):
    group = draft_start(applicant=bob, service=catalogue.licence)
    fill_everything_but_identity(group, bob, catalogue)
    with pytest.raises(IdentityNotVerified) as refused:
        group_submit(applicant=bob, group_id=group.pk, idempotency_key="k")
    assert "Full name" in refused.value.message and "verified identity" in refused.value.message
    group.refresh_from_db()
    assert group.is_draft and group.data and not Application.objects.exists()


def test_a_verified_bob_gets_his_own_values_and_cannot_change_them(bob, catalogue):
    verify(bob, "Bob Li", BOB_ID)
    group = draft_start(applicant=bob, service=catalogue.licence)
    assert (group.data["person.full_name"], group.data["person.id_number"]) == ("Bob Li", BOB_ID)
    result = draft_save(applicant=bob, group_id=group.pk, values=ALICES)
    assert result.errors["person.id_number"] == [
        "Resident ID number comes from your verified identity and cannot be changed."
    ]
    assert result.errors["person.full_name"]
    # The answers Bob may give are still saved.
    assert draft_save(applicant=bob, group_id=group.pk, values={"person.full_name": "Bob Li"}).ok


def test_the_submission_takes_the_verified_values_whatever_the_draft_held(bob, catalogue):
    verify(bob, "Bob Li", BOB_ID)
    group = draft_start(applicant=bob, service=catalogue.licence)
    fill_everything_but_identity(group, bob, catalogue)
    group.refresh_from_db()
    ApplicationGroup.objects.filter(pk=group.pk).update(data={**group.data, **ALICES})  # as if written before the rule
    outcome = group_submit(applicant=bob, group_id=group.pk, idempotency_key="k")
    (application,) = outcome.applications
    assert application.data["person.full_name"] == "Bob Li" and application.data["person.id_number"] == BOB_ID
    assert "Alice Wang" not in str(application.data) and ALICE_ID not in str(application.data)


def test_the_api_refuses_another_value_naming_the_field(client, bob, catalogue):
    verify(bob, "Bob Li", BOB_ID)
    group = draft_start(applicant=bob, service=catalogue.licence)
    client.force_login(bob)
    response = client.patch(
        reverse("workflows-api:draft", args=[group.pk]), {"data": ALICES}, content_type="application/json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"person.full_name", "person.id_number"}
    group.refresh_from_db()
    assert group.data["person.full_name"] == "Bob Li"


def test_the_api_submission_without_an_identity_answers_403(client, bob, catalogue):
    group = draft_start(applicant=bob, service=catalogue.licence)
    fill_everything_but_identity(group, bob, catalogue)
    client.force_login(bob)
    response = client.post(reverse("workflows-api:draft-submit", args=[group.pk]), HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 403 and "verified identity" in response.json()["detail"]


def test_the_html_form_shows_identity_as_read_only(client, bob, catalogue):
    verify(bob, "Bob Li", BOB_ID)
    group = draft_start(applicant=bob, service=catalogue.licence)
    client.force_login(bob)
    page = client.get(reverse("workflows:apply-resume", args=[group.pk]), follow=True).content.decode()
    assert 'value="Bob Li" readonly' in page


def test_a_date_of_birth_and_sex_are_read_from_a_verified_resident_id(bob, alice):
    VerifiedAttribute.objects.create(user=bob, element_key="person.id_number", value=BOB_ID, source="identity")
    assert verified_values(user=bob, keys=["person.date_of_birth"]) == {"person.date_of_birth": "1980-01-01"}
    assert verified_values(user=bob, keys=["person.sex"]) == {"person.sex": "male"}  # 17th digit 1: odd
    VerifiedAttribute.objects.create(user=alice, element_key="person.id_number", value=ALICE_ID, source="identity")
    assert verified_values(user=alice, keys=["person.sex", "person.date_of_birth"]) == {
        "person.sex": "female",  # 17th digit 2: even
        "person.date_of_birth": "1949-12-31",
    }
    # Not from an ID whose check character is wrong.
    VerifiedAttribute.objects.filter(user=bob).update(value=BOB_ID[:-1] + ("0" if BOB_ID[-1] != "0" else "1"))
    assert verified_values(user=bob, keys=["person.sex", "person.date_of_birth"]) == {}


def test_a_clerk_cannot_ask_for_identity_to_be_corrected(alice, clerk_a, django_capture_on_commit_callbacks):
    DataElement.objects.update_or_create(
        key="person.full_name", defaults={"kind": "text", "label_en": "Full name", "label_zh": "姓名", "bound": True}
    )
    application = submit(django_capture_on_commit_callbacks, applicant=alice)
    work_item = application.work_items.get()
    work_item_claim(work_item_id=work_item.pk, clerk=clerk_a)
    with pytest.raises(TransitionRefused, match="verified identity"):
        correction_request(
            work_item_id=work_item.pk, actor=clerk_a, fields=["person.full_name"], materials=[], message="Wrong name"
        )


def fill_everything_but_identity(group, applicant, catalogue) -> None:
    """Every other answer and document, as the applicant gives them (identity is not typed)."""
    fill_everything(
        group, applicant, catalogue, skip=set(DataElement.objects.filter(bound=True).values_list("key", flat=True))
    )
