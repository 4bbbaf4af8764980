"""Dates read as a Chinese reader writes them (2026年12月16日, 12月9日 00:30) on the receipt, the
application page and the clerk's work item, in Chromium; no page shows a raw ISO timestamp.
The portal runs at 00:30 in Shanghai, when the UTC date is still the day before."""

import re
from contextlib import nullcontext
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.support.browser import sign_in
from workflows import clock
from workflows.models import WorkItem
from workflows.tests.progress_support import TWO_DEPARTMENTS, ask_correction, item, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Wednesday 9 December 2026, 00:30 in Shanghai: 16:30 UTC on Tuesday the 8th.
INSTANT = datetime(2026, 12, 9, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
RAW_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def no_capture(execute: bool = True):
    return nullcontext()  # transactional test: on-commit work runs as each transaction commits


def chinese(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def in_chinese(page) -> None:
    page.get_by_role("button", name="简体中文").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"


def visible_text(page) -> str:
    return page.locator("main").inner_text()


@pytest.fixture
def travelled():
    with time_machine.travel(INSTANT, tick=True):
        yield INSTANT


def test_dates_read_in_chinese_for_the_applicant_and_the_clerk(
    travelled, official_calendar, browser, live_server, page, alice, clerk_a, password, assert_accessible
):
    application = submit(no_capture, applicant=alice, route=TWO_DEPARTMENTS, time_limit_days=20)
    due = clock.due_date(application.statutory_due_at)
    step_due = clock.due_date(item(application, "licence").statutory_due_at)
    # Filed on Wednesday 9 December (local): 20 working days run to Thursday 7 January 2027, past
    # New Year's Day; the licence step's 5 to Wednesday 16 December.
    assert (due, step_due) == (date(2027, 1, 7), date(2026, 12, 16))

    sign_in(page, "alice", password)
    in_chinese(page)
    page.goto(f"/applications/{application.group_id}/receipt/")
    text = visible_text(page)
    assert chinese(due) in text  # 2027年1月7日
    assert "2026年12月9日 00:30" in text  # when it was submitted, local time
    assert "十二月" not in text and not RAW_ISO.search(text)
    assert_accessible(page)

    page.goto(f"/applications/{application.number}/")
    text = visible_text(page)
    assert chinese(due) in text and chinese(step_due) in text
    assert "十二月" not in text and not RAW_ISO.search(text)
    assert_accessible(page)

    # The clerk asks for a correction at 00:30 local; the work item says when, in local time.
    work_item = ask_correction(no_capture, application, "licence", clerk_a)
    assert work_item.status == WorkItem.Status.WAITING
    context = browser.new_context(base_url=live_server.url, bypass_csp=True, locale="en-GB")
    clerk_page = context.new_page()
    try:
        sign_in(clerk_page, "clerk.a", password)
        in_chinese(clerk_page)
        clerk_page.goto(f"/workbench/items/{work_item.pk}/")
        text = visible_text(clerk_page)
        assert chinese(step_due) in text  # due
        assert "2026年12月9日 00:30" in text  # the correction was requested then
        assert "12月9日 00:30" in clerk_page.locator("#history").locator("xpath=..").inner_text()
        assert "十二月" not in text and not RAW_ISO.search(text)
        assert_accessible(clerk_page)
    finally:
        context.close()
