"""The clerk's queue: tabs, search, filters, keyset pages, counts, and a fixed query budget."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from workflows.clock import calendar_snapshot
from workflows.engine.actions import work_item_claim
from workflows.models import WorkItem
from workflows.tests.factories import VALID_ID
from workflows.tests.test_workbench_support import bulk_queue, routed_application, step, version_with
from workflows.workbench.selectors import QueueFilters, Tab, work_items_for_clerk

# Date-sensitive: every test runs at each instant of `frozen_now` (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

MASKED = "110105********002X"


@pytest.fixture
def version(department_a, department_b):
    return version_with()


@pytest.fixture
def alices(alice, version):
    return routed_application(applicant=alice, version=version)


@pytest.fixture
def bobs(bob, version):
    return routed_application(applicant=bob, version=version, **{"person.id_number": "110101199003070014"})


def numbers(page) -> list[str]:
    return [item.application.number for item in page.items]


def test_it_lists_open_steps_of_my_department_with_the_id_number_masked(client, clerk_a, alices):
    client.force_login(clerk_a)
    response = client.get("/workbench/")
    body = response.content.decode()
    assert response.status_code == 200
    assert alices.number in body
    assert "Alice Wang" in body
    assert MASKED in body
    assert VALID_ID not in body


def test_another_departments_clerk_does_not_see_it(client, clerk_b, alices):
    client.force_login(clerk_b)
    body = client.get("/workbench/").content.decode()
    assert alices.number not in body
    assert work_items_for_clerk(clerk=clerk_b).counts[Tab.UNCLAIMED] == 0


def test_it_finds_by_number_name_full_id_and_masked_id(clerk_a, alices, bobs):
    def search(q: str) -> list[str]:
        return numbers(work_items_for_clerk(clerk=clerk_a, filters=QueueFilters(q=q)))

    assert search(alices.number) == [alices.number]
    assert search("alice wang") == [alices.number]
    assert search(VALID_ID) == [alices.number]
    assert search(VALID_ID.lower()) == [alices.number]
    assert search(MASKED) == [alices.number]
    assert search("110101********0014") == [bobs.number]
    assert search("999999********0000") == []
    assert search("nobody") == []


def test_the_search_results_still_show_the_id_masked(client, clerk_a, alices):
    client.force_login(clerk_a)
    body = client.get("/workbench/", {"q": VALID_ID}).content.decode()
    assert alices.number in body
    assert MASKED in body
    assert f">{VALID_ID}<" not in body and f"{VALID_ID}</span>" not in body


def test_filters_by_service_status_and_due_date(clerk_a, alice, alices, department_a, department_b):
    other = routed_application(applicant=alice, version=version_with())
    by_service = work_items_for_clerk(clerk=clerk_a, filters=QueueFilters(service=other.service.code))
    assert numbers(by_service) == [other.number]

    work_item_claim(work_item_id=step(other).pk, clerk=clerk_a)
    claimed = work_items_for_clerk(clerk=clerk_a, tab=Tab.MINE, filters=QueueFilters(status=WorkItem.Status.CLAIMED))
    assert numbers(claimed) == [other.number]

    WorkItem.objects.filter(pk=step(alices).pk).update(statutory_due_at=timezone.now() + datetime.timedelta(days=30))
    soon = timezone.localdate() + datetime.timedelta(days=10)
    due = work_items_for_clerk(clerk=clerk_a, filters=QueueFilters(due_before=soon))
    assert alices.number not in numbers(due)


def test_tabs_and_their_counts(clerk_a, supervisor, alice, version):
    _unclaimed, mine, team, overdue, near = (routed_application(applicant=alice, version=version) for _ in range(5))
    work_item_claim(work_item_id=step(mine).pk, clerk=clerk_a)
    work_item_claim(work_item_id=step(team).pk, clerk=supervisor)
    now = timezone.now()
    WorkItem.objects.filter(pk=step(overdue).pk).update(statutory_due_at=now - datetime.timedelta(days=3))
    WorkItem.objects.filter(pk=step(near).pk).update(statutory_due_at=now + datetime.timedelta(hours=2))

    page = work_items_for_clerk(clerk=clerk_a, tab=Tab.MINE)
    assert numbers(page) == [mine.number]
    assert page.counts == {Tab.UNCLAIMED: 3, Tab.MINE: 1, Tab.TEAM: 2, Tab.NEAR_DEADLINE: 1, Tab.OVERDUE: 1}
    assert set(numbers(work_items_for_clerk(clerk=clerk_a, tab=Tab.TEAM))) == {mine.number, team.number}
    assert numbers(work_items_for_clerk(clerk=clerk_a, tab=Tab.OVERDUE)) == [overdue.number]
    assert numbers(work_items_for_clerk(clerk=clerk_a, tab=Tab.NEAR_DEADLINE)) == [near.number]
    first = numbers(work_items_for_clerk(clerk=clerk_a, tab=Tab.UNCLAIMED))
    assert first[0] == overdue.number  # sorted by statutory due time


def test_keyset_pages_walk_the_whole_queue_in_due_order_without_repeats(clerk_a, alice, department_a):
    bulk_queue(department=department_a, applicant=alice, count=60)
    seen: list[WorkItem] = []
    cursor = None
    pages = 0
    while True:
        page = work_items_for_clerk(clerk=clerk_a, after=cursor)
        seen.extend(page.items)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == 60 == len({item.pk for item in seen})
    keys = [(item.statutory_due_at, item.pk) for item in seen]
    assert keys == sorted(keys)


def test_a_forged_cursor_shows_the_first_page(client, clerk_a, alices):
    client.force_login(clerk_a)
    response = client.get("/workbench/", {"after": "not-a-cursor!!"})
    assert response.status_code == 200
    assert alices.number in response.content.decode()


def test_a_bad_due_date_is_explained_and_kept(client, clerk_a, alices):
    client.force_login(clerk_a)
    response = client.get("/workbench/", {"due_before": "31/02/2026"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Enter a date like 2026-03-31." in body
    assert 'value="31/02/2026"' in body


def _queue_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/workbench/")
    assert response.status_code == 200
    return len(captured)


def test_the_queue_page_runs_the_same_number_of_queries_for_5_and_500_items(
    client, clerk_a, alice, department_a, django_assert_num_queries
):
    version = version_with()
    bulk_queue(department=department_a, applicant=alice, count=5, version=version)
    client.force_login(clerk_a)
    client.get("/workbench/")  # warm the session
    small = _queue_queries(client)
    bulk_queue(department=department_a, applicant=alice, count=495, version=version)
    with django_assert_num_queries(small):
        response = client.get("/workbench/")
    assert response.content.decode().count('class="govuk-table__row" id="item-') == 25


def test_the_queue_selector_runs_the_same_number_of_queries_for_5_and_500_items(
    clerk_a, alice, department_a, django_assert_num_queries
):
    version = version_with()
    bulk_queue(department=department_a, applicant=alice, count=5, version=version)
    calendar_snapshot()  # the working-day calendar is read once per process, not per page
    # Each page with the clerk loaded afresh, as a request loads its user (whose memberships are
    # then read once).
    clerk = User.objects.get(pk=clerk_a.pk)
    with CaptureQueriesContext(connection) as captured:
        work_items_for_clerk(clerk=clerk, filters=QueueFilters(q="Alice"))
    bulk_queue(department=department_a, applicant=alice, count=495, version=version)
    clerk = User.objects.get(pk=clerk_a.pk)
    with django_assert_num_queries(len(captured)):
        page = work_items_for_clerk(clerk=clerk, filters=QueueFilters(q="Alice"))
    assert len(page.items) == 25
    assert page.counts[Tab.UNCLAIMED] == 500


def test_keyset_pages_keep_equal_due_times_and_steps_without_one_in_order(clerk_a, alice, department_a):
    """Pages cut through a run of equal due times and across to the steps without a due time
    (those come last): every step once, in (due time, id) order with the undated ones last."""
    bulk_queue(department=department_a, applicant=alice, count=60)
    ids = list(
        WorkItem.objects.filter(department=department_a, kind="review").order_by("pk").values_list("pk", flat=True)
    )
    same = timezone.now() + datetime.timedelta(days=2)
    WorkItem.objects.filter(pk__in=ids[10:30]).update(statutory_due_at=same)  # across the first page's end
    WorkItem.objects.filter(pk__in=ids[40:52]).update(statutory_due_at=None)  # across the second page's end
    seen: list[WorkItem] = []
    cursor = None
    while True:
        page = work_items_for_clerk(clerk=clerk_a, after=cursor)
        seen.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 60 == len({item.pk for item in seen})
    dated = [item for item in seen if item.statutory_due_at is not None]
    assert seen[len(dated) :] == sorted((item for item in seen if item.statutory_due_at is None), key=lambda i: i.pk)
    assert [(i.statutory_due_at, i.pk) for i in dated] == sorted((i.statutory_due_at, i.pk) for i in dated)
    assert len(dated) == 48


@pytest.mark.parametrize("path", ["/workbench/?tab=mine", "/api/workbench/items/?tab=mine"])
def test_the_rows_are_read_with_only_the_columns_they_show(client, clerk_a, alices, path):
    """Data minimisation, and less to decode: listing reads the names it shows, not the accounts'
    password hashes or a step's decision note; a claimed row's assignee comes with its row, not
    a query of its own."""
    work_item_claim(work_item_id=step(alices).pk, clerk=clerk_a)
    client.force_login(clerk_a)
    client.get(path)  # warm the session
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    body = response.content.decode()
    assert alices.number in body and "Alice Wang" in body and MASKED in body
    assert str(clerk_a.name) in body
    rows = [q["sql"] for q in captured.captured_queries if 'FROM "workflows_workitem" INNER JOIN' in q["sql"]]
    assert len(rows) == 1, rows
    assert '"password"' not in rows[0] and '"decision_note"' not in rows[0] and '"last_login"' not in rows[0]
    # The signed-in clerk's own account is the only one read whole.
    whole_accounts = [q for q in captured.captured_queries if '"accounts_user"."password"' in q["sql"]]
    assert len(whole_accounts) <= 1, whole_accounts


def test_each_row_links_to_its_own_item_claim_and_release(client, clerk_a, alices, bobs):
    mine, unclaimed = step(alices), step(bobs)
    work_item_claim(work_item_id=mine.pk, clerk=clerk_a)
    client.force_login(clerk_a)
    claimed_page = client.get("/workbench/?tab=mine").content.decode()
    assert f'href="/workbench/items/{mine.pk}/"' in claimed_page
    assert f'action="/workbench/items/{mine.pk}/release/"' in claimed_page
    open_page = client.get("/workbench/").content.decode()
    assert f'href="/workbench/items/{unclaimed.pk}/"' in open_page
    claim = f"/workbench/items/{unclaimed.pk}/claim/"
    assert f'action="{claim}" hx-post="{claim}"' in open_page
    # The row htmx swaps in after a claim links the same way.
    row = client.post(claim, HTTP_HX_REQUEST="true").content.decode()
    assert f'action="/workbench/items/{unclaimed.pk}/release/"' in row


def test_a_row_escapes_what_people_typed_on_the_page_and_in_the_row_htmx_swaps_in(client, clerk_a, alice, alices):
    """The rows are filled in Python (views/rows.py), not by the template's autoescaping: a name
    with markup in it is shown as text in both."""
    alice.display_name = '<script>alert("x")</script> & Wang'
    alice.save(update_fields=["display_name"])
    item = step(alices)
    client.force_login(clerk_a)
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Wang"
    page = client.get("/workbench/").content.decode()
    assert escaped in page
    assert "<script>alert" not in page
    row = client.post(f"/workbench/items/{item.pk}/claim/", HTTP_HX_REQUEST="true").content.decode()
    assert row.startswith(f'<tr class="govuk-table__row" id="item-{item.pk}"')
    assert escaped in row
    assert "<script>alert" not in row
    assert 'role="status"' in row


def test_the_rows_speak_the_clerks_language(client, clerk_a, alices):
    item = step(alices)
    client.cookies["django_language"] = "zh-hans"
    client.force_login(clerk_a)
    page = client.get("/workbench/").content.decode()
    assert f"选择 {alices.number}" in page
    assert f'action="/workbench/items/{item.pk}/claim/"' in page
    assert "认领" in page


def test_the_page_reads_the_clerks_memberships_once(client, clerk_a, alices):
    """The access check, the queue's scope and the menus share one read of the memberships."""
    step(alices)
    client.force_login(clerk_a)
    client.get("/workbench/")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/workbench/").status_code == 200
    reads = [q["sql"] for q in captured.captured_queries if 'FROM "accounts_membership"' in q["sql"]]
    assert len(reads) == 1, reads
