"""The working-day calendar: the official holidays loaded from chinese-calendar, local holidays
and stopped periods entered by an administrator (bad input refused, nothing saved), the years
it is complete for, and the warnings before it runs out (/healthz, the admin banner)."""

from datetime import date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from workflows import clock
from workflows.holidays import holidays_load_official, official_years
from workflows.models import CalendarDay, CalendarYear, ClockStop
from workflows.models.calendar import CalendarSource

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_loader_writes_the_official_holidays_and_make_up_days():
    out = StringIO()
    call_command("load_holidays", "--year", "2026", stdout=out)
    national_day = CalendarDay.objects.get(date=date(2026, 10, 1))
    assert national_day.kind == CalendarDay.Kind.HOLIDAY and national_day.source == CalendarSource.OFFICIAL
    assert "National Day" in national_day.name and "国庆节" in national_day.name
    assert CalendarDay.objects.get(date=date(2026, 10, 10)).kind == CalendarDay.Kind.WORKDAY  # a Saturday worked
    assert CalendarYear.objects.get(year=2026).source == CalendarSource.OFFICIAL
    assert "2026: 33 holidays, 6 make-up working days" in out.getvalue()


def test_loading_twice_changes_nothing_and_keeps_what_an_administrator_entered():
    CalendarDay.objects.create(date=date(2026, 10, 8), kind=CalendarDay.Kind.HOLIDAY, name="City festival")
    holidays_load_official(years=[2026])
    count = CalendarDay.objects.count()
    holidays_load_official(years=[2026])
    assert CalendarDay.objects.count() == count
    local = CalendarDay.objects.get(date=date(2026, 10, 8))
    assert (local.name, local.source) == ("City festival", CalendarSource.LOCAL)


def test_a_real_due_date_moves_past_national_day(official_calendar):
    filed = datetime(2026, 9, 28, 10, tzinfo=SHANGHAI)
    # 29 and 30 September, then 1–7 October are holidays, then 8, 9 and Saturday the 10th (worked).
    assert clock.due_date(clock.add_working_days(filed, 5)) == date(2026, 10, 10)


def test_the_package_years_are_the_ones_marked_complete(official_calendar):
    last = official_years()[-1]
    assert CalendarYear.objects.get(year=last).provisional is False
    provisional = CalendarYear.objects.get(year=last + 1)
    assert provisional.provisional is True
    assert CalendarDay.objects.filter(date=date(last + 1, 1, 1), kind=CalendarDay.Kind.HOLIDAY).exists()


def test_an_unknown_year_refuses_the_submission_and_keeps_the_draft(client, alice, catalogue_for_calendar):
    group = catalogue_for_calendar
    CalendarYear.objects.filter(year__gte=2027).delete()
    with time_machine.travel(datetime(2026, 12, 20, 10, tzinfo=SHANGHAI), tick=False):
        client.force_login(alice)
        response = client.post(f"/api/drafts/{group.pk}/submit/", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 503
    assert "working-day calendar for 2027 has not been published" in response.json()["detail"]
    group.refresh_from_db()
    assert group.submitted_at is None and group.data  # still a draft, with its answers


@pytest.fixture
def catalogue_for_calendar(alice):
    from workflows.tests.test_apply_submission import _ready_draft
    from workflows.tests.test_apply_support import build_catalogue

    return _ready_draft(alice, build_catalogue())


# --- The admin ------------------------------------------------------------------------------


def test_an_administrator_adds_a_local_holiday_with_a_reason(client, administrator):
    client.force_login(administrator)
    url = reverse("admin:workflows_calendarday_add")
    assert client.get(reverse("admin:workflows_calendarday_changelist")).status_code == 200
    response = client.post(url, {"date": "2027-03-15", "kind": "holiday", "name": "City founding day"})
    assert response.status_code == 302
    day = CalendarDay.objects.get(date=date(2027, 3, 15))
    assert day.source == CalendarSource.LOCAL
    assert not clock.is_working_day(date(2027, 3, 15))


def test_a_holiday_entered_twice_or_without_a_reason_is_refused(client, administrator):
    CalendarDay.objects.create(date=date(2027, 3, 15), kind=CalendarDay.Kind.HOLIDAY, name="City founding day")
    client.force_login(administrator)
    url = reverse("admin:workflows_calendarday_add")
    twice = client.post(url, {"date": "2027-03-15", "kind": "holiday", "name": "Again"})
    assert twice.status_code == 200 and "This date is already in the calendar." in twice.content.decode()
    no_reason = client.post(url, {"date": "2027-03-16", "kind": "holiday", "name": ""})
    assert no_reason.status_code == 200 and "This field is required." in no_reason.content.decode()
    assert CalendarDay.objects.count() == 1


def test_a_stopped_period_needs_its_days_in_order_and_no_overlap(client, administrator):
    client.force_login(administrator)
    url = reverse("admin:workflows_clockstop_add")
    backwards = client.post(url, {"starts_on": "2027-03-10", "ends_on": "2027-03-08", "reason": "Typhoon"})
    assert "The last day must be on or after the first day." in backwards.content.decode()
    assert (
        client.post(url, {"starts_on": "2027-03-08", "ends_on": "2027-03-10", "reason": "Typhoon"}).status_code == 302
    )
    overlap = client.post(url, {"starts_on": "2027-03-10", "ends_on": "2027-03-12", "reason": "Flood"})
    assert "overlaps another stopped period" in overlap.content.decode()
    stop = ClockStop.objects.get()
    assert (stop.reason, stop.created_by) == ("Typhoon", administrator)
    assert not clock.is_working_day(date(2027, 3, 9))


def test_clerks_and_strangers_cannot_change_the_calendar(client, clerk_a, alice):
    url = reverse("admin:workflows_calendarday_add")
    client.force_login(clerk_a)  # staff, without the calendar's permissions
    assert client.get(url).status_code == 403
    assert client.post(url, {"date": "2027-03-15", "kind": "holiday", "name": "Mine"}).status_code == 403
    client.force_login(alice)
    assert client.get(url).status_code == 302  # to the admin's sign-in
    assert not CalendarDay.objects.exists()


# --- Warnings before the calendar runs out ----------------------------------------------------


def test_healthz_and_the_admin_warn_60_days_before_the_calendar_ends(client, administrator):
    CalendarYear.objects.filter(year__gte=2027).delete()
    with time_machine.travel(datetime(2026, 10, 1, 10, tzinfo=SHANGHAI), tick=False):
        body = client.get("/healthz").json()
        assert body["calendar_complete_through"] == 2026 and body["calendar_warning"] is None
    with time_machine.travel(datetime(2026, 11, 5, 10, tzinfo=SHANGHAI), tick=False):
        body = client.get("/healthz").json()
        assert "ends on 31 December 2026" in body["calendar_warning"]
        client.force_login(administrator)
        page = client.get(reverse("admin:index")).content.decode()
        assert 'data-testid="calendar-warning"' in page and "ends on 31 December 2026" in page


def test_a_provisional_year_is_named_in_the_warning(client, official_calendar):
    last = official_years()[-1]
    with time_machine.travel(datetime(last, 6, 1, 10, tzinfo=SHANGHAI), tick=False):
        warning = client.get("/healthz").json()["calendar_warning"]
    assert f"The working-day calendar of {last + 1} is provisional" in warning
