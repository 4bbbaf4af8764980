"""The supervision dashboard's figures equal hand-computed values on a seeded data set; a
supervisor sees only their departments, an administrator all; others get 404."""

import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Department
from documents.models import Document
from services.models import Service
from workflows.models import (
    Application,
    ApplicationGroup,
    GroupDocument,
    Incident,
    WorkItem,
)
from workflows.progress.actions import rating_submit
from workflows.progress.dashboard import Period, dashboard_for
from workflows.progress.rollups import rollups_rebuild
from workflows.tests.factories import published_version, supporting_type
from workflows.tests.progress_support import ONE_STEP

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def make(version, applicant, *, submitted, status, decided=None, due_days=5, group_data=None, revisions=None):
    group = ApplicationGroup.objects.create(
        applicant=applicant,
        submitted_at=submitted,
        number=f"G-{uuid.uuid4().hex[:10]}",
        data=group_data or {},
        field_revisions=revisions or {},
    )
    return Application.objects.create(
        group=group,
        applicant=applicant,
        number=f"T-{uuid.uuid4().hex[:10]}",
        service=version.service,
        service_version=version,
        status=status,
        submitted_at=submitted,
        decided_at=decided,
        statutory_due_at=submitted + due_days * DAY,
    )


@pytest.fixture
def seeded(frozen_now, alice, department_a, department_b):
    now = timezone.now()
    market = published_version(route=ONE_STEP, code="market-svc", time_limit_days=10)
    fire = published_version(route=ONE_STEP, code="fire-svc", time_limit_days=8)
    Service.objects.filter(pk=fire.service_id).update(lead_department=department_b)
    fire.service.refresh_from_db()
    approved = Application.Status.APPROVED
    start = now - 10 * DAY
    # Market: decided after 1, 2, 3 and 10 days against a 5-day due date.
    market_decided = [
        make(market, alice, submitted=start, status=approved, decided=start + days * DAY,
             group_data={"a": 1, "b": 2, "c": 3}, revisions={"a": 0, "b": 0, "c": 2})
        for days in (1, 2, 3, 10)
    ]  # fmt: skip
    # Decided long before the period: not counted.
    make(market, alice, submitted=now - 70 * DAY, status=approved, decided=now - 60 * DAY)
    # Fire: decided after 1 and 4 days against a 2-day due date.
    fire_decided = [
        make(fire, alice, submitted=start, status=approved, decided=start + days * DAY, due_days=2) for days in (1, 4)
    ]
    # Open work now.
    running = make(market, alice, submitted=now - 2 * DAY, status=Application.Status.IN_PROGRESS)
    review = {"application": running, "department": department_a, "kind": "review"}
    WorkItem.objects.create(**review, step_key="licence", status=WorkItem.Status.OPEN, statutory_due_at=now + 3 * DAY)
    late = WorkItem.objects.create(
        **review, step_key="licence", round=2, status=WorkItem.Status.CLAIMED, statutory_due_at=now - DAY
    )
    WorkItem.objects.create(
        **review,
        step_key="food",
        status=WorkItem.Status.WAITING,
        statutory_due_at=now - DAY,
        clock_stopped_at=now - 2 * DAY,
    )
    fire_running = make(fire, alice, submitted=now - DAY, status=Application.Status.IN_PROGRESS)
    failed = WorkItem.objects.create(
        application=fire_running,
        step_key="check",
        department=department_b,
        kind="automatic",
        status=WorkItem.Status.FAILED,
        statutory_due_at=now + DAY,
    )
    Incident.objects.create(work_item=failed, department=department_b, error="gateway down")
    # Ratings: market 5, 5, 4, 2; fire 1.
    for application, score in zip(market_decided, (5, 5, 4, 2), strict=True):
        rating_submit(applicant=alice, application=application, score=score)
    rating_submit(applicant=alice, application=fire_decided[0], score=1)
    # Once only: one market submission reused one vault document and uploaded one new one.
    group = market_decided[0].group
    kinds = supporting_type()
    old = Document.objects.create(owner=alice, document_type=kinds, file="a.pdf", display_name="a.pdf",
                                  sha256="1" * 64, size=1, content_type="application/pdf")  # fmt: skip
    Document.objects.filter(pk=old.pk).update(created_at=group.created_at - 30 * DAY)
    from services.models import DocumentType

    other_type = DocumentType.objects.create(code="floor-plan", name_en="Floor plan", name_zh="平面图")
    new = Document.objects.create(owner=alice, document_type=other_type, file="b.pdf", display_name="b.pdf",
                                  sha256="2" * 64, size=1, content_type="application/pdf")  # fmt: skip
    Document.objects.filter(pk=new.pk).update(created_at=group.created_at + DAY)
    GroupDocument.objects.create(group=group, document_type=kinds, document=old)
    GroupDocument.objects.create(group=group, document_type=other_type, document=new)
    # Rows written directly, not through the engine's events: the period figures come from the
    # rollups, built here as the upgrade command builds them.
    rollups_rebuild()
    return {"now": now, "late": late, "market": market, "fire": fire}


def period(now):
    return Period(timezone.localdate(now - 30 * DAY), timezone.localdate(now))


def test_supervisor_figures_cover_their_department_only(supervisor, seeded):
    board = dashboard_for(user=supervisor, period=period(seeded["now"]), now=seeded["now"])
    assert [d.code for d in board.departments] == ["market"]
    assert (board.backlog_total, board.overdue_total, board.waiting_for_applicant_total) == (3, 1, 1)
    assert {(r["step"], r["total"], r["overdue"], r["waiting"]) for r in board.backlog} == {
        ("licence", 2, 1, 0),
        ("food", 1, 0, 1),
    }
    assert [item.pk for item in board.overdue] == [seeded["late"].pk]
    overall = board.overall
    assert (overall["decided"], overall["on_time"]) == (4, 3)
    assert overall["on_time_rate"] == pytest.approx(0.75)
    # percentile_cont over 1, 2, 3, 10 days: median 2.5, 90th percentile 3 + 0.7 × 7 = 7.9.
    assert overall["median_days"] == pytest.approx(2.5)
    assert overall["p90_days"] == pytest.approx(7.9)
    # Share of the 5-day allowance used: 0.2, 0.4, 0.6, 2.0 → 0.5 and 0.6 + 0.7 × 1.4 = 1.58.
    assert overall["median_share"] == pytest.approx(0.5)
    assert overall["p90_share"] == pytest.approx(1.58)
    [row] = board.timeliness
    assert (row["service_en"], row["decided"], row["limit_days"]) == ("Service market-svc", 4, 10)
    assert board.incidents_open == 0
    assert board.ratings == {5: 2, 4: 1, 3: 0, 2: 1, 1: 0}
    assert board.ratings_average == 4.0
    assert board.follow_ups_open == 1
    once = board.once_only
    # Submitted in the period: 4 decided + 1 running market submissions.
    assert (once["submissions"], once["applications"], once["bundles"]) == (5, 5, 0)
    assert (once["answers"], once["prefilled"]) == (12, 8)
    assert (once["attached"], once["reused"]) == (2, 1)


def test_administrator_figures_cover_every_department(administrator, seeded):
    board = dashboard_for(user=administrator, period=period(seeded["now"]), now=seeded["now"])
    assert board.backlog_total == 4 and board.overdue_total == 1
    assert (board.overall["decided"], board.overall["on_time"]) == (6, 4)
    # 1, 1, 2, 3, 4, 10 days: median 2.5; 90th percentile at 4.5 → 4 + 0.5 × 6 = 7.0.
    assert board.overall["median_days"] == pytest.approx(2.5)
    assert board.overall["p90_days"] == pytest.approx(7.0)
    assert {r["service_en"]: r["on_time_rate"] for r in board.timeliness} == {
        "Service fire-svc": pytest.approx(0.5),
        "Service market-svc": pytest.approx(0.75),
    }
    assert board.incidents_open == 1
    assert board.ratings == {5: 2, 4: 1, 3: 0, 2: 1, 1: 1}
    assert board.ratings_average == 3.4
    assert board.follow_ups_open == 2


def test_the_page_and_its_csv(client, supervisor, seeded):
    client.force_login(supervisor)
    response = client.get(reverse("workflows:progress-supervision"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="fig-backlog">3<' in page and 'id="fig-decided">4<' in page and 'id="fig-on-time">75%' in page
    assert "2.5 / 7.9 calendar days" in page
    assert page.count("<svg") >= 3
    assert "Fire and Rescue" not in page
    exported = client.get(reverse("workflows:progress-supervision"), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    figures = {row[0]: row[1] for row in rows if len(row) >= 2}
    assert figures["Open work items"] == "3" and figures["On-time rate"] == "0.7500"


def test_period_filter_and_bad_dates(client, supervisor, seeded):
    client.force_login(supervisor)
    today = timezone.localdate(seeded["now"])
    page = client.get(
        reverse("workflows:progress-supervision"), {"start": str(today - 3 * DAY), "end": str(today)}
    ).content.decode()
    assert 'id="fig-decided">1<' in page  # only the one decided after 10 days, i.e. today
    response = client.get(reverse("workflows:progress-supervision"), {"start": "2026-13-45", "end": "x"})
    assert response.status_code == 200 and "Enter a valid date." in response.content.decode()


def test_others_get_404(client, alice, clerk_a, seeded):
    for user in (alice, clerk_a):
        client.force_login(user)
        assert client.get(reverse("workflows:progress-supervision")).status_code == 404
        assert client.get("/api/supervision/dashboard/").status_code == 404


def test_api_gives_the_supervisors_scope(client, supervisor, administrator, seeded):
    client.force_login(supervisor)
    body = client.get("/api/supervision/dashboard/").json()
    assert body["departments"] == ["market"] and body["backlog_total"] == 3
    client.force_login(administrator)
    body = client.get("/api/supervision/dashboard/").json()
    assert set(body["departments"]) >= {"market", "fire"} and body["backlog_total"] == 4
    assert Department.objects.count() >= 2
