"""The queue's tab counts stop at COUNT_CAP: "1,000+" on the page, the bounded number and a
`more` flag in the API, the exact number below the cap."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from workflows.tests.test_workbench_support import bulk_queue, version_with
from workflows.workbench import selectors
from workflows.workbench.selectors import COUNT_CAP, Tab, work_items_for_clerk

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(department_a, department_b):
    return version_with()


def tab_link(body: str, tab: str) -> str:
    start = body.index(f'href="?tab={tab}')
    return body[start : body.index("</a>", start)]


def test_a_tab_with_more_than_the_cap_shows_it_with_a_plus_and_the_api_flags_it(
    client, clerk_a, alice, department_a, version
):
    bulk_queue(department=department_a, applicant=alice, count=COUNT_CAP + 1, version=version)

    page = work_items_for_clerk(clerk=clerk_a)
    assert page.counts[Tab.UNCLAIMED] == COUNT_CAP
    assert page.more[Tab.UNCLAIMED] is True
    assert page.counts[Tab.MINE] == 0 and page.more[Tab.MINE] is False

    client.force_login(clerk_a)
    body = client.get("/workbench/").content.decode()
    unclaimed = tab_link(body, Tab.UNCLAIMED)
    assert '<span aria-hidden="true">1,000+</span>' in unclaimed
    assert '<span class="govuk-visually-hidden">more than 1,000</span>' in unclaimed
    assert '<span class="govuk-tag govuk-tag--grey">0</span>' in tab_link(body, Tab.MINE)

    api = APIClient()
    api.force_authenticate(clerk_a)
    data = api.get("/api/workbench/items/").json()
    assert data["counts"]["unclaimed"] == COUNT_CAP
    assert data["more"]["unclaimed"] is True
    assert data["counts"]["mine"] == 0
    assert data["more"]["mine"] is False


def test_a_tab_at_the_cap_shows_its_exact_count(client, clerk_a, alice, department_a, version, monkeypatch):
    monkeypatch.setattr(selectors.queue, "COUNT_CAP", 5)
    bulk_queue(department=department_a, applicant=alice, count=5, version=version)

    page = work_items_for_clerk(clerk=clerk_a)
    assert page.counts[Tab.UNCLAIMED] == 5
    assert page.more[Tab.UNCLAIMED] is False

    client.force_login(clerk_a)
    unclaimed = tab_link(client.get("/workbench/").content.decode(), Tab.UNCLAIMED)
    assert '<span class="govuk-tag govuk-tag--grey">5</span>' in unclaimed
    assert "+" not in unclaimed


def test_one_more_than_the_cap_is_bounded_and_every_tab_counts_within_its_own_condition(
    clerk_a, alice, department_a, version, monkeypatch
):
    monkeypatch.setattr(selectors.queue, "COUNT_CAP", 5)
    bulk_queue(department=department_a, applicant=alice, count=6, version=version)

    page = work_items_for_clerk(clerk=clerk_a)
    assert (page.counts[Tab.UNCLAIMED], page.more[Tab.UNCLAIMED]) == (5, True)
    assert (page.counts[Tab.MINE], page.more[Tab.MINE]) == (0, False)
    assert (page.counts[Tab.TEAM], page.more[Tab.TEAM]) == (0, False)
    assert (page.counts[Tab.OVERDUE], page.more[Tab.OVERDUE]) == (0, False)


def test_a_supervisor_is_pointed_to_the_dashboard_for_the_totals(
    client, clerk_a, supervisor, alice, department_a, version
):
    bulk_queue(department=department_a, applicant=alice, count=COUNT_CAP + 1, version=version)

    client.force_login(supervisor)
    body = client.get("/workbench/").content.decode()
    assert "A tab counts up to 1,000 applications" in body
    assert f'href="{reverse("workflows:progress-supervision")}">supervision dashboard</a> has the totals' in body

    client.force_login(clerk_a)
    body = client.get("/workbench/").content.decode()
    assert "1,000+" in body
    assert "supervision dashboard" not in body


def test_below_the_cap_no_tab_points_anywhere(client, supervisor, alice, department_a, version):
    bulk_queue(department=department_a, applicant=alice, count=3, version=version)

    client.force_login(supervisor)
    body = client.get("/workbench/").content.decode()
    assert '<span class="govuk-tag govuk-tag--grey">3</span>' in tab_link(body, Tab.UNCLAIMED)
    assert "A tab counts up to" not in body
