"""Shared fixtures: the standard actors (DESIGN §9), a real Celery worker process, throwaway
Redis servers for fault tests, and the Chromium browser harness."""

import datetime
import os
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings

from accounts.models import Department, Role
from accounts.tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.support.clamd import ClamdTestPeer
from tests.support.second_factor import staff_device
from workflows.clock import calendar_forget
from workflows.holidays import holidays_enter_provisional, holidays_load_official, official_years
from workflows.models import CalendarYear

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from that
# thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def department_a(db) -> Department:
    return Department.objects.get_or_create(
        code="market", defaults={"short_code": "MKT", "name_en": "Market Regulation", "name_zh": "市场监督管理局"}
    )[0]


@pytest.fixture
def department_b(db) -> Department:
    return Department.objects.get_or_create(
        code="fire", defaults={"short_code": "FIR", "name_en": "Fire and Rescue", "name_zh": "消防救援支队"}
    )[0]


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", display_name="Alice Wang", email="alice@example.org")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", display_name="Bob Li", email="bob@example.org")


def staff_member(username: str, display_name: str, department: Department, role: str):
    """A member of staff with one role in one department, and a confirmed second factor (staff
    confirm one at sign-in: tests/support/second_factor.py)."""
    user = MembershipFactory(
        user=UserFactory(username=username, display_name=display_name, is_staff=True),
        department=department,
        role=role,
    ).user
    staff_device(user)
    return user


@pytest.fixture
def clerk_a(department_a):
    return staff_member("clerk.a", "Clerk A", department_a, Role.CLERK)


@pytest.fixture
def clerk_b(department_b):
    return staff_member("clerk.b", "Clerk B", department_b, Role.CLERK)


@pytest.fixture
def supervisor(department_a):
    return staff_member("supervisor.a", "Supervisor A", department_a, Role.SUPERVISOR)


@pytest.fixture
def market_admin(department_a):
    return staff_member("admin.market", "Market Admin", department_a, Role.DEPARTMENT_ADMIN)


@pytest.fixture
def fire_admin(department_b):
    return staff_member("admin.fire", "Fire Admin", department_b, Role.DEPARTMENT_ADMIN)


@pytest.fixture
def administrator(db):
    user = UserFactory(username="admin", display_name="Administrator", is_staff=True, is_superuser=True)
    staff_device(user)
    return user


@pytest.fixture(autouse=True)
def english_by_default():
    """A request in Chinese leaves its language active in the thread; each test starts in English."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")


# --- The virus scanner ----------------------------------------------------------------------
# Uploads made by tests are scanned through clamd's real INSTREAM protocol by one session-wide
# test peer (tests/support/clamd.py), so a test document is `clean` only because a scanner
# said so. A run started with CLAMD_SOCKET or CLAMD_HOST set (a real ClamAV) keeps that one.
# Tests of the unscanned path override CLAMD_SOCKET/CLAMD_HOST to "".


@pytest.fixture(scope="session", autouse=True)
def clamd_peer():
    """Session-wide, so module-scoped worlds (the matrix, the fuzzer) are scanned too."""
    if settings.CLAMD_SOCKET or settings.CLAMD_HOST:
        yield None
        return
    peer = ClamdTestPeer()
    with override_settings(CLAMD_SOCKET=str(peer.path), CLAMD_HOST="", CLAMD_TIMEOUT=5):
        yield peer
    peer.close()


# --- Time -----------------------------------------------------------------------------------
# The portal's clock is local (Asia/Shanghai). A test never reads a date off an aware UTC
# datetime; it asks timezone.localdate()/localtime(), or freezes time with `frozen_now`.

# The years the test calendar is complete for; tests that need real holidays load them
# (`official_calendar`, and `frozen_now`, which always runs on the real calendar).
TEST_CALENDAR_YEARS = range(2020, 2036)


@pytest.fixture(autouse=True)
def working_calendar(request):
    """Every database test starts with a calendar complete (weekends only) for the years around
    now, so deadlines are computed; a test of a missing year deletes its row."""
    if request.node.get_closest_marker("django_db") is None and not {"db", "transactional_db"} & set(
        request.fixturenames
    ):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    CalendarYear.objects.bulk_create(
        [CalendarYear(year=year, note="tests: weekends only") for year in TEST_CALENDAR_YEARS], ignore_conflicts=True
    )
    # The calendar is cached per process; rows a test adds are rolled back without a commit to say so.
    calendar_forget()
    yield
    calendar_forget()


@pytest.fixture
def official_calendar(db, working_calendar):
    """The State Council's holidays and make-up working days (from chinese-calendar), and the
    next year's statutory fixed dates entered as provisional, as `make run` loads them."""
    last = official_years()[-1]
    CalendarYear.objects.filter(year__gt=last + 1).delete()
    loaded = holidays_load_official(years=list(range(last - 2, last + 1)))
    holidays_enter_provisional(year=last + 1)
    return loaded


def _local(year: int, month: int, day: int, hour: int, minute: int) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))


# The instants every date-sensitive test runs at, local time. 00:30 and 07:59 are the evening
# before in UTC (16:30 and 23:59): the hours a UTC date and the local date disagree.
INSTANTS = {
    "wed-00:30": _local(2026, 12, 9, 0, 30),
    "wed-07:59": _local(2026, 12, 9, 7, 59),
    "wed-08:00": _local(2026, 12, 9, 8, 0),  # 00:00 UTC
    "wed-15:59": _local(2026, 12, 9, 15, 59),
    "wed-23:59": _local(2026, 12, 9, 23, 59),
    "fri-evening": _local(2026, 12, 11, 21, 0),  # before a weekend
    "holiday-eve": _local(2026, 9, 30, 18, 0),  # National Day holidays run 1–7 October 2026
    "make-up-day": _local(2026, 10, 10, 10, 0),  # a Saturday worked for National Day
}


@pytest.fixture(params=list(INSTANTS), ids=list(INSTANTS))
def frozen_now(request, official_calendar):
    """Runs the test at each of INSTANTS, on the real holiday calendar. Time moves on from the
    instant (tick), so code that waits still sees it pass; `frozen_now` is the instant."""
    instant = INSTANTS[request.param]
    with time_machine.travel(instant, tick=True):
        yield instant


# --- The cache ------------------------------------------------------------------------------
# With Redis the cache outlives the process (rate-limit counters, portal/settings.py): each test
# starts with it empty. Only the portal's keys go (lib/cache.py), never the broker's queues.


@pytest.fixture(autouse=True)
def empty_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def no_request_context_left_over():
    """Each test starts outside any request: a streamed response a test never closed (a file
    download) would otherwise leave its request id in the log context for the next test."""
    from portal.request_context import application_var, request_id_var, user_id_var

    for var in (request_id_var, user_id_var, application_var):
        var.set(None)
