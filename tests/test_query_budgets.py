"""Query budgets: every main page and API endpoint runs a fixed number of queries, whatever the
number of rows behind it, and no more than its budget. An N+1 (a query per row) fails here.

Each check loads the page once (warm: session, first-use caches), counts its queries with a
little data, adds more rows of what the page lists, and loads it again: the count must not
grow, and must stay within the budget. Data is made through the real actions (drafts,
submission with the engine in-process, vault uploads) on the demo catalogue.
"""

import itertools
import re
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext

from accounts.actions import verified_attribute_set
from accounts.demo import seed_departments
from accounts.models import Membership, Role, User
from documents.actions import document_upload
from documents.models import Document
from services.demo import seed_catalogue
from services.models import DocumentType, Service
from workflows.apply import actions as apply
from workflows.apply.demo import demo_pdf
from workflows.models import Application, ApplicationGroup, WorkItem

pytestmark = pytest.mark.django_db

VERIFIED = {
    "person.full_name": "Alice Wang",
    "person.id_number": "11010519491231002X",
    "person.phone": "13800138000",
    "person.email": "alice@example.org",
}
_serial = itertools.count(1)


@pytest.fixture
def demo(db) -> None:
    seed_departments()
    seed_catalogue()


@pytest.fixture
def citizen(demo, alice) -> User:
    for key, value in VERIFIED.items():
        verified_attribute_set(user=alice, element_key=key, value=value, source="identity")
    return alice


def upload(user: User, code: str) -> Document:
    serial = next(_serial)
    content = demo_pdf(f"{code} {serial}", user.name)
    uploaded = SimpleUploadedFile(f"{code}.pdf", content, content_type="application/pdf")
    return document_upload(owner=user, document_type=DocumentType.objects.get(code=code), uploaded_file=uploaded)


def submit(user: User, count: int = 1) -> list[ApplicationGroup]:
    """`count` business-licence applications submitted through the apply actions (the engine
    routes each in-process: work items open in the market queue)."""
    service = Service.objects.get(code="business-licence")
    id_card = Document.objects.filter(owner=user, document_type__code="id-card").first() or upload(user, "id-card")
    groups = []
    for _ in range(count):
        serial = next(_serial)
        group = apply.draft_start(applicant=user, service=service)
        apply.draft_save(
            applicant=user,
            group_id=group.pk,
            values={"business.name": f"Noodle Bar {serial}", "business.legal_form": "individual",
                    "business.address": f"{serial} Renmin Road, Beijing"},
        )  # fmt: skip
        for document in (id_card, upload(user, "lease-agreement")):
            apply.draft_attach_document(
                applicant=user, group_id=group.pk, document_type=document.document_type, document_id=document.pk
            )
        # The test runs inside a transaction: run the engine start the commit would send.
        with TestCase.captureOnCommitCallbacks(execute=True):
            outcome = apply.group_submit(applicant=user, group_id=group.pk, idempotency_key=f"key-{serial}")
        groups.append(outcome.group)
    return groups


def draft(user: User) -> ApplicationGroup:
    return apply.draft_start(applicant=user, service=Service.objects.get(code="business-licence"))


def assert_fixed(
    client: Client, url: str, budget: int, more: Callable[[], object], django_assert_max_num_queries
) -> None:
    """The page answers 200 within `budget` queries, and as many again after `more()` added rows."""
    assert client.get(url).status_code == 200  # warm
    with django_assert_max_num_queries(budget) as before:
        assert client.get(url).status_code == 200
    more()
    with django_assert_max_num_queries(len(before.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200


# --- The public catalogue -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "budget"),
    [("/", 3), ("/services/", 6), ("/services/business-licence/", 12), ("/api/services/", 5),
     ("/api/services/business-licence/", 8), ("/life-events/open-a-restaurant/", 16),
     ("/services/?q=开饭店", 6), ("/services/?q=resturant", 6)],
)  # fmt: skip
def test_public_catalogue_pages_have_a_fixed_budget(client, demo, url, budget, django_assert_max_num_queries):
    def more_services() -> None:
        seed_catalogue()  # idempotent: nothing new, the count must not change either

    assert_fixed(client, url, budget, more_services, django_assert_max_num_queries)


# --- The citizen ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "budget"),
    [("/", 6), ("/applications/", 10), ("/inbox/", 8), ("/vault/", 12), ("/account/access-log/", 8),
     ("/api/drafts/", 8), ("/api/my/applications/", 6), ("/api/notifications/", 6),
     ("/api/vault/documents/", 8)],
)  # fmt: skip
def test_citizen_lists_do_not_grow_with_their_rows(client, citizen, url, budget, django_assert_max_num_queries):
    submit(citizen, 1)
    draft(citizen)
    client.force_login(citizen)
    assert_fixed(client, url, budget, lambda: (submit(citizen, 3), draft(citizen)), django_assert_max_num_queries)


def test_citizen_application_pages_have_a_budget(client, citizen, django_assert_max_num_queries):
    group = submit(citizen, 1)[0]
    application = Application.objects.get(group=group)
    open_draft = draft(citizen)
    client.force_login(citizen)
    for url, budget in [
        (f"/applications/{application.number}/", 15),
        (f"/api/my/applications/{application.number}/", 10),
        (f"/api/drafts/{group.pk}/", 15),
        (f"/api/drafts/{open_draft.pk}/", 15),
        (f"/applications/{open_draft.pk}/review/", 16),
    ]:
        assert client.get(url).status_code == 200, url
        with django_assert_max_num_queries(budget):
            assert client.get(url).status_code == 200, url


# Applying once through the API, request by request (bench/flow.py does the same under load):
# session, user and the test's savepoints included. Each action's group is serialised as the
# action loaded it; a published version's form comes from the process's cache.
# Submit reads the applicant's verified identity once (identity elements are bound to it).
APPLY_BUDGETS = {"draft create": 9, "draft attach": 12, "draft answer": 10, "submit": 15}


def test_each_request_of_applying_once_has_a_budget(client, citizen, django_assert_max_num_queries):
    submit(citizen, 1)  # warm: the form's cache, this year's number counter
    id_card, lease = upload(citizen, "id-card"), upload(citizen, "lease-agreement")
    client.force_login(citizen)
    body = {"service": "business-licence"}
    assert client.post("/api/drafts/", body, content_type="application/json").status_code == 201
    with django_assert_max_num_queries(APPLY_BUDGETS["draft create"]):
        created = client.post("/api/drafts/", body, content_type="application/json")
    assert created.status_code == 201
    draft_url = f"/api/drafts/{created.json()['id']}/"
    for document in (id_card, lease):
        body = {"document_type": document.document_type.code, "document": document.pk}
        with django_assert_max_num_queries(APPLY_BUDGETS["draft attach"]):
            attached = client.post(f"{draft_url}documents/", body, content_type="application/json")
        assert attached.status_code == 200
    answers = {"business.name": "Noodle Bar", "business.legal_form": "individual",
               "business.address": "1 Renmin Road, Beijing"}  # fmt: skip
    body = {"revision": attached.json()["revision"], "data": answers}
    with django_assert_max_num_queries(APPLY_BUDGETS["draft answer"]):
        answered = client.patch(draft_url, body, content_type="application/json")
    assert answered.status_code == 200
    assert answered.json()["missing"] == []
    with (
        TestCase.captureOnCommitCallbacks(execute=False),
        django_assert_max_num_queries(APPLY_BUDGETS["submit"]),
    ):
        submitted = client.post(f"{draft_url}submit/", headers={"Idempotency-Key": "budget-1"})
    assert submitted.status_code == 201
    assert [a["service"] for a in submitted.json()["applications"]] == ["business-licence"]


# --- The clerk and the supervisor -----------------------------------------------------------------


@pytest.fixture
def market_clerk(demo) -> User:
    return _staff("clerk.market", Role.CLERK)


def _staff(username: str, role: str) -> User:
    from accounts.models import Department

    user = User.objects.create(username=username, display_name=username)
    Membership.objects.create(user=user, department=Department.objects.get(code="market"), role=role)
    return user


@pytest.mark.parametrize(
    ("url", "budget"),
    # Each includes the one INSERT that records who the page showed (workflows/workbench/access.py).
    # One more than each runs today: the staff member's memberships are read once per request
    # (User.active_memberships), for the access check, the queue's scope and the menus.
    [("/workbench/", 9), ("/workbench/?tab=mine", 8), ("/workbench/?q=Alice", 10), ("/api/workbench/items/", 7),
     ("/api/workbench/items/?q=Alice", 8)],
)  # fmt: skip
def test_the_clerk_queue_does_not_grow_with_the_queue(
    client, citizen, market_clerk, url, budget, django_assert_max_num_queries
):
    submit(citizen, 2)
    client.force_login(market_clerk)
    assert_fixed(client, url, budget, lambda: submit(citizen, 4), django_assert_max_num_queries)
    assert WorkItem.objects.filter(department__code="market", status="open").count() == 6


def test_the_work_item_page_has_a_budget(client, citizen, market_clerk, django_assert_max_num_queries):
    submit(citizen, 1)
    item = WorkItem.objects.get(department__code="market", status="open")
    client.force_login(market_clerk)
    url = f"/workbench/items/{item.pk}/"
    assert client.get(url).status_code == 200
    with django_assert_max_num_queries(23):
        assert client.get(url).status_code == 200


def test_the_supervision_pages_do_not_grow_with_the_work(client, citizen, demo, django_assert_max_num_queries):
    supervisor = _staff("supervisor.bench", Role.SUPERVISOR)
    submit(citizen, 1)
    client.force_login(supervisor)
    # Both dashboards: the period figures in one rollup read, plus one count of the proactive offers
    # decided in the period (an indexed table of offers, not of applications).
    for url, budget in [("/workbench/supervision/", 10), ("/supervision/", 15), ("/api/supervision/dashboard/", 13)]:
        assert_fixed(client, url, budget, lambda: submit(citizen, 2), django_assert_max_num_queries)


# --- Query plans: the pages that read the growing tables stay on indexes ---------------------
# Every SELECT these pages run is explained with sequential scans priced out (enable_seqscan =
# off): none may still need one on an application, a work item, an event, an access record, a
# notification or an outbox row (on PostgreSQL the audit tables are partitioned by month, and
# each partition must be reached through its own index). A query with no usable index shows a
# Seq Scan here however few rows the test has.

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's query plans")

GROWING = re.compile(
    r"Seq Scan on (workflows_application|workflows_workitem|workflows_applicationevent\w*|"
    r"workflows_dataaccessrecord\w*|workflows_notification\w*|workflows_outboxmessage)\b"
)


def sequential_scans(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200, url
    found = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            found += [f"{url}: {match.group(0)} in\n{sql}\n{plan}" for match in GROWING.finditer(plan)]
        cursor.execute("SET LOCAL enable_seqscan = on")
    return found


@postgresql_only
def test_the_clerk_and_supervision_pages_read_the_growing_tables_through_indexes(client, citizen, market_clerk):
    submit(citizen, 2)
    item = WorkItem.objects.filter(department__code="market", status="open").first()
    client.force_login(market_clerk)
    scans = []
    for url in ("/workbench/", "/workbench/?tab=mine", "/workbench/?q=Alice", "/api/workbench/items/",
                f"/workbench/items/{item.pk}/"):  # fmt: skip
        scans += sequential_scans(client, url)
    client.force_login(_staff("supervisor.plans", Role.SUPERVISOR))
    for url in ("/workbench/supervision/", "/supervision/", "/api/supervision/dashboard/"):
        scans += sequential_scans(client, url)
    assert not scans, "\n\n".join(scans)


@postgresql_only
def test_the_citizen_pages_read_the_growing_tables_through_indexes(client, citizen, market_clerk):
    submit(citizen, 2)
    application = Application.objects.filter(applicant=citizen).first()
    client.force_login(market_clerk)
    client.get(f"/workbench/items/{WorkItem.objects.filter(application=application).first().pk}/")  # a look
    client.force_login(citizen)
    scans = []
    for url in ("/applications/", f"/applications/{application.number}/", "/inbox/", "/account/access-log/",
                "/api/notifications/", f"/api/my/applications/{application.number}/"):  # fmt: skip
        scans += sequential_scans(client, url)
    assert not scans, "\n\n".join(scans)
