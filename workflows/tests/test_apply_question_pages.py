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


def _statuses(page: str) -> list[str]:
    """The task list's status of each step, in order ('' where a step shows none)."""
    nav = page.split('aria-label="Steps of this application"', 1)[1].split("</nav>", 1)[0]
    items = nav.split('<li class="govuk-task-list__item')[1:]
    found = []
    for item in items:
        status = item.split('class="govuk-task-list__status', 1)
        found.append(status[1].split(">", 1)[1].split("</div>", 1)[0] if len(status) > 1 else "")
    return found


def test_the_steps_are_a_task_list_with_each_sections_status(client, alice, catalogue):
    from workflows.tests.test_apply_support import fill_everything, verify_alice

    group = draft_start(applicant=alice, service=catalogue.licence)
    client.force_login(alice)
    first = client.get(reverse("workflows:apply-section", args=[group.pk, 1])).content.decode()
    statuses = _statuses(first)
    assert "Not yet started" in statuses[1]  # the business section: nothing answered yet
    assert statuses[-1] == "Cannot start yet"  # check and submit waits for the answers

    # One answer of the business section given, a required one still missing: in progress.
    posted = {"base_revision": group.revision, "business__name": "Noodles", "base__business__name": "", "later": "1"}
    assert client.post(business_page(group), posted).status_code == 302
    assert "In progress" in _statuses(client.get(business_page(group)).content.decode())[1]

    verify_alice(alice)
    fill_everything(group, alice, catalogue)
    done = _statuses(client.get(business_page(group)).content.decode())
    assert all(status == "Completed" for status in done[:-1] if status)
    assert "Not yet started" in done[-1]  # everything answered: check and submit can start
