"""End to end in Chromium: a walk-in with no account (Chen Mei of the demo eID register) is
served at the counter: the clerk checks her identity card, files for her and gives her the
reference; she follows it on the tracking page, then signs in with the demo national eID for the
first time and finds the application in "My applications". Axe clean on every new page."""

import re

import pytest

from accounts.models import User
from tests.support.browser import sign_in
from tests.support.eid import eid_sign_in
from workflows.models import Application
from workflows.tests.test_apply_support import pdf_bytes
from workflows.tests.test_workbench_support import version_with

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHEN_ID = "310104199207042561"


@pytest.fixture
def version(supervisor, department_a, department_b):
    return version_with()


def test_the_counter_files_for_a_walk_in_who_later_signs_in_with_eid(
    page, password, version, demo_eid_live, assert_accessible, tmp_path
):
    assert not User.objects.filter(resident_id=CHEN_ID).exists()
    sign_in(page, "supervisor.a", password)
    page.goto("/workbench/counter/")

    # Without the identity check nothing starts.
    page.get_by_label("Resident ID number of the person at the counter").fill(CHEN_ID)
    page.get_by_label("Full name, as on the identity document").fill("Chen Mei")
    page.get_by_label("Service or life event").select_option(f"service:{version.service.code}")
    page.get_by_label("The person has agreed").check()
    page.get_by_role("button", name="Start the application").click()
    assert page.get_by_text("There is a problem").is_visible()
    assert_accessible(page)

    page.get_by_label("Identity document shown").select_option("resident_id_card")
    page.get_by_label("Number of the identity document").fill(CHEN_ID)
    page.get_by_label("I have checked the identity document in person").check()
    page.get_by_label("Mobile phone number for text messages").fill("13900002561")
    page.get_by_label("The person has agreed").check()
    page.get_by_role("button", name="Start the application").click()
    assert re.search(r"/workbench/counter/\d+/$", page.url)
    assert page.get_by_text("Filing at the counter for Chen Mei").is_visible()

    page.get_by_label("Business name").fill("Chen's Dumplings")
    page.get_by_label("Floor area").fill("60")
    scan = tmp_path / "lease.pdf"
    scan.write_bytes(pdf_bytes("chen"))
    page.locator("input[type=file]").first.set_input_files(str(scan))
    page.get_by_role("button", name="Check answers with them").click()
    page.get_by_role("button", name="They agree: file it").click()
    page.get_by_role("heading", name="Submitted").wait_for()
    application = Application.objects.get(applicant__resident_id=CHEN_ID)
    assert page.get_by_text(application.number).first.is_visible()
    assert page.get_by_text("/track/").is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_load_state("networkidle")

    # The printed reference: she follows it without an account.
    page.goto("/track/")
    assert_accessible(page)
    page.get_by_label("Application number").fill(application.number)
    page.get_by_label("Last 4 characters of your resident ID number").fill("2561")
    page.get_by_label("Date of birth").fill("1992-07-04")
    page.get_by_role("button", name="Show the status").click()
    assert page.get_by_role("heading", name="Your application").is_visible()
    assert page.get_by_text(version.service.name_en).is_visible()
    assert page.get_by_text("Chen Mei").count() == 0
    assert_accessible(page)

    # Her first national eID sign-in links the record the counter made.
    eid_sign_in(page, "Chen Mei", "substantial")
    assert page.get_by_text("You are signed in with your national eID.").is_visible()
    page.goto("/applications/")
    assert page.get_by_text(application.number).first.is_visible()
    assert User.objects.filter(resident_id=CHEN_ID).count() == 1
    assert User.objects.get(resident_id=CHEN_ID).eid_identities.filter(subject="demo-0003").exists()
