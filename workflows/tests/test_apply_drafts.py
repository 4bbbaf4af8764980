"""Drafts live on the server from the first step: resumable, with a clear list of what is
missing; a stale draft offers the current version; two tabs never silently lose an answer."""

import pytest
from django.urls import reverse

from services.models import ServiceVersion
from workflows.apply.actions import DraftStale, draft_move_to_current, draft_save, draft_start, group_submit
from workflows.apply.selectors import group_for_user, group_missing
from workflows.models import Application, ApplicationGroup
from workflows.tests.test_apply_support import (  # noqa: F401
    add_parts,
    catalogue,
    fill_everything,
    publish,
    retire,
)

pytestmark = pytest.mark.django_db


def test_starting_creates_a_draft_and_opens_its_first_step(client, alice, catalogue):  # noqa: F811
    client.force_login(alice)
    start = reverse("workflows:apply-start-service", args=["business-licence"])
    assert "Start now" in client.get(start).content.decode()

    response = client.post(start, follow=True)

    group = ApplicationGroup.objects.get(applicant=alice)
    assert group.is_draft and group.versions.get() == catalogue.version(catalogue.licence)
    assert response.redirect_chain[-1][0] == reverse("workflows:apply-section", args=[group.pk, 1])


def test_an_unknown_service_is_a_404_page(client, alice, catalogue):  # noqa: F811
    client.force_login(alice)
    assert client.get(reverse("workflows:apply-start-service", args=["no-such-service"])).status_code == 404
    assert client.post(reverse("workflows:apply-start-life-event", args=["no-such-event"])).status_code == 404


def test_starting_needs_a_signed_in_person(client, catalogue):  # noqa: F811
    response = client.post(reverse("workflows:apply-start-service", args=["business-licence"]))
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert not ApplicationGroup.objects.exists()


def test_my_applications_lists_drafts_and_submissions_to_resume(client, alice, bob, catalogue):  # noqa: F811
    draft = draft_start(applicant=alice, life_event=catalogue.restaurant)
    done = draft_start(applicant=alice, service=catalogue.licence)
    fill_everything(done, alice, catalogue)
    submitted = group_submit(applicant=alice, group_id=done.pk, idempotency_key="k").group
    draft_start(applicant=bob, service=catalogue.fire)
    client.force_login(alice)

    page = client.get(reverse("workflows:apply-list")).content.decode()

    assert reverse("workflows:apply-resume", args=[draft.pk]) in page
    assert "Open a restaurant" in page
    assert submitted.number in page
    assert "Fire safety check" not in page  # Bob's draft


def test_resuming_goes_to_the_first_step_with_something_missing(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    draft_save(
        applicant=alice,
        group_id=group.pk,
        values={
            "person.full_name": "Alice Wang",
            "person.id_number": "11010519491231002X",
            "person.phone": "13800138000",
        },
    )
    client.force_login(alice)
    response = client.get(reverse("workflows:apply-resume", args=[group.pk]))
    assert response.url == reverse("workflows:apply-section", args=[group.pk, 2])


def test_the_review_page_lists_what_is_still_missing(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    draft_save(applicant=alice, group_id=group.pk, values={"business.name": "Alice's Noodles"})
    client.force_login(alice)

    page = client.get(reverse("workflows:apply-review", args=[group.pk])).content.decode()

    assert "What is still missing" in page
    for label in ("Full name", "Resident ID number", "Kind of business", "Copy of ID card", "Lease contract"):
        assert f"{label}: Not" in page
    assert "Business name: Not" not in page
    assert "Opening date: Not" not in page  # optional
    assert "Accept and submit" not in page


def test_submitting_an_incomplete_draft_answers_with_the_missing_list(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    client.force_login(alice)
    response = client.post(reverse("workflows:apply-submit", args=[group.pk]), {"token": "t-1"})
    assert response.status_code == 400
    assert "Lease contract: Not provided yet" in response.content.decode()
    assert not Application.objects.exists()
    assert group_for_user(user=alice, group_id=group.pk).is_draft


def _new_version_of(service, *, extra_field: str | None = None) -> ServiceVersion:
    old = service.versions.get(status="published")
    new = ServiceVersion.objects.create(service=service, number=old.number + 1, time_limit_days=old.time_limit_days)
    fields = [(f.element.key, f.section_en, f.required, f.when) for f in old.fields.all()]
    if extra_field:
        fields.append((extra_field, "Your business", True, None))
    add_parts(new, fields, [(m.document_type, m.required, m.when) for m in old.materials.all()])
    retire(old)
    publish(new)
    return new


def test_a_stale_draft_offers_to_move_to_the_current_version_keeping_the_data(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    fill_everything(group, alice, catalogue)
    new = _new_version_of(catalogue.licence, extra_field="business.contact_email")

    with pytest.raises(DraftStale):
        group_submit(applicant=alice, group_id=group.pk, idempotency_key="k")
    client.force_login(alice)
    page = client.get(reverse("workflows:apply-review", args=[group.pk])).content.decode()
    assert "changed since you started it" in page
    assert "Move to the current version" in page
    assert "Accept and submit" not in page

    client.post(reverse("workflows:apply-move-to-current", args=[group.pk]))

    group = group_for_user(user=alice, group_id=group.pk)
    assert list(group.versions.all()) == [new]
    assert group.data["business.name"] == "Alice's Noodles"
    # The new version asks one more thing: it is what is missing now.
    assert [m.label for m in group_missing(group)] == ["Business e-mail address"]


def test_a_stale_draft_submitted_through_the_html_form_gets_a_clear_message(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    fill_everything(group, alice, catalogue)
    _new_version_of(catalogue.licence)
    client.force_login(alice)
    response = client.post(reverse("workflows:apply-submit", args=[group.pk]), {"token": "t"}, follow=True)
    assert "changed since you started this draft" in response.content.decode()
    assert not Application.objects.exists()
    draft_move_to_current(applicant=alice, group_id=group.pk)
    assert group_submit(applicant=alice, group_id=group.pk, idempotency_key="k").group.applications.count() == 1


# --- Two tabs -------------------------------------------------------------------------------


def test_two_tabs_changing_different_fields_are_merged(alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    loaded = group.revision
    draft_save(applicant=alice, group_id=group.pk, values={"business.name": "Tab One"}, base_revision=loaded)
    result = draft_save(
        applicant=alice, group_id=group.pk, values={"person.phone": "13800138000"}, base_revision=loaded
    )
    assert result.ok
    group.refresh_from_db()
    assert group.data["business.name"] == "Tab One" and group.data["person.phone"] == "13800138000"


def test_a_field_changed_in_both_tabs_is_a_conflict_not_a_silent_loss(alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    loaded = group.revision
    draft_save(applicant=alice, group_id=group.pk, values={"business.name": "Tab One"}, base_revision=loaded)

    result = draft_save(
        applicant=alice,
        group_id=group.pk,
        values={"business.name": "Tab Two", "business.kind": "cafe"},
        base_revision=loaded,
    )

    assert result.conflicts == {"business.name": "Tab One"}
    group.refresh_from_db()
    assert group.data["business.name"] == "Tab One"  # not overwritten
    assert group.data["business.kind"] == "cafe"  # the other field is merged


def test_the_second_tab_sees_the_conflict_with_its_own_answer_kept(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    client.force_login(alice)
    url = reverse("workflows:apply-section", args=[group.pk, 2])
    stale_form = {
        "base_revision": group.revision,
        "business__name": "",
        "base__business__name": "",
        "business__floor_area_m2": "",
        "base__business__floor_area_m2": "",
    }
    # Tab one saves first.
    client.post(url, {**stale_form, "business__name": "Tab One"})
    # Tab two, loaded before that save, changes the same field and another one.
    response = client.post(url, {**stale_form, "business__name": "Tab Two", "business__floor_area_m2": "80"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "changed to “Tab One” in another window" in page
    assert 'value="Tab Two"' in page  # what this tab typed is still there
    group.refresh_from_db()
    assert group.data["business.name"] == "Tab One"
    assert group.data["business.floor_area_m2"] == "80"
    # Saving again (now based on the current revision) keeps tab two's answer deliberately.
    again = {**stale_form, "base_revision": group.revision, "base__business__name": "Tab One"}
    again.update({"business__name": "Tab Two", "business__floor_area_m2": "80", "base__business__floor_area_m2": "80"})
    # ("Save and come back later": the page's other required questions are still unanswered.)
    assert client.post(url, {**again, "later": "1"}).status_code == 302
    group.refresh_from_db()
    assert group.data["business.name"] == "Tab Two"


def test_a_field_the_other_tab_did_not_touch_is_not_overwritten_by_its_old_value(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    client.force_login(alice)
    url = reverse("workflows:apply-section", args=[group.pk, 2])
    form = {"base_revision": group.revision, "business__name": "", "base__business__name": ""}
    client.post(url, {**form, "business__name": "Saved in tab one"})
    # Tab two submits the page unchanged (its input still shows the old, empty value).
    assert client.post(url, {**form, "later": "1"}).status_code == 302
    group.refresh_from_db()
    assert group.data["business.name"] == "Saved in tab one"


def test_every_step_opens_and_a_step_that_does_not_exist_is_a_404(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    client.force_login(alice)
    for index in (1, 2):
        assert client.get(reverse("workflows:apply-section", args=[group.pk, index])).status_code == 200
    assert client.get(reverse("workflows:apply-section", args=[group.pk, 9])).status_code == 404
