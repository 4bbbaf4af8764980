"""Question pages check their own required answers on "Save and continue" (saving what was given),
say specifically what to do, and "Change" on check-your-answers comes back to it."""

import pytest
from django.urls import reverse

from workflows.apply.actions import draft_start
from workflows.tests.test_apply_support import build_catalogue

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    return build_catalogue()


def business_page(group) -> str:
    return reverse("workflows:apply-section", args=[group.pk, 2])


def test_a_blank_required_question_is_refused_on_its_own_page_and_the_rest_saved(client, alice, catalogue):
    group = draft_start(applicant=alice, service=catalogue.licence)
    client.force_login(alice)
    response = client.post(
        business_page(group),
        {"base_revision": group.revision, "business__name": "Noodles", "base__business__name": ""},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter floor area" in page or "Select" in page
    assert "There is a problem" in page
    group.refresh_from_db()
    assert group.data["business.name"] == "Noodles"  # what was given is kept


def test_save_and_come_back_later_does_not_insist(client, alice, catalogue):
    group = draft_start(applicant=alice, service=catalogue.licence)
    client.force_login(alice)
    response = client.post(business_page(group), {"base_revision": group.revision, "later": "1"})
    assert response.status_code == 302 and response.url == reverse("workflows:apply-list")


def test_change_returns_to_check_your_answers(client, alice, catalogue):
    from workflows.tests.test_apply_support import fill_everything, verify_alice

    verify_alice(alice)
    group = draft_start(applicant=alice, service=catalogue.licence)
    fill_everything(group, alice, catalogue)
    group.refresh_from_db()
    client.force_login(alice)
    review = client.get(reverse("workflows:apply-review", args=[group.pk])).content.decode()
    change = f"{business_page(group)}?change=1#"
    assert change in review
    page = client.get(f"{business_page(group)}?change=1").content.decode()
    assert 'name="change" value="1"' in page
    business = {key.replace(".", "__"): value for key, value in group.data.items() if key.startswith("business.")}
    posted = {
        "base_revision": group.revision,
        "change": "1",
        **business,
        **{f"base__{name}": value for name, value in business.items()},
    }
    posted["business__name"] = "Alice's Dumplings"
    response = client.post(business_page(group), posted)
    assert response.status_code == 302 and response.url == reverse("workflows:apply-review", args=[group.pk])
    group.refresh_from_db()
    assert group.data["business.name"] == "Alice's Dumplings"
    # Without "change", the same save goes on to the next step instead.
    posted.pop("change")
    posted.update({"base_revision": group.revision, "base__business__name": "Alice's Dumplings"})
    response = client.post(business_page(group), posted)
    assert response.status_code == 302 and response.url != reverse("workflows:apply-review", args=[group.pk])
