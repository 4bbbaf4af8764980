"""End to end in Chromium: Alice asks for everything One Door holds about her, watches it being
prepared, and downloads the ZIP; she corrects her name; the erasure page explains what would be
erased and kept. Axe clean on every page of My data."""

import io
import json
import zipfile

import pytest

from tests.support.browser import sign_in
from workflows.models import DataExport
from workflows.tests.test_workbench_support import routed_application, version_with

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_downloads_her_data(page, password, alice, bob, department_a, department_b, assert_accessible):
    mine = routed_application(applicant=alice, version=version_with(), **{"business.name": "Alice's Noodles"})
    routed_application(applicant=bob, version=version_with(), **{"business.name": "Bob's Secret Bar"})
    sign_in(page, "alice", password)
    page.goto("/account/")
    page.get_by_role("link", name="My data: download, correct or erase").click()
    assert page.get_by_role("heading", name="My data", exact=True).is_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Prepare my data").click()
    # Prepared in the background; the page polls (htmx) until the link is there.
    link = page.get_by_role("link", name="Download your data (ZIP)")
    link.wait_for()
    assert_accessible(page)
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.startswith("one-door-my-data-")
    archive = zipfile.ZipFile(io.BytesIO(download.path().read_bytes()))
    applications = json.loads(archive.read("applications.json"))
    assert [a["number"] for a in applications] == [mine.number]
    assert applications[0]["answers"]["business.name"] == "Alice's Noodles"
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"Bob's Secret Bar" not in everything
    assert DataExport.objects.get(user=alice).status == DataExport.Status.READY

    # Correcting what she typed herself.
    page.get_by_role("link", name="Correct your name, language or e-mail address").click()
    assert_accessible(page)
    page.get_by_label("Your name as shown on One Door").fill("")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("There is a problem").is_visible()
    assert_accessible(page)
    page.get_by_label("Your name as shown on One Door").fill("Ally Wang")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Your details are saved.").is_visible()

    # Erasure explains before anything happens.
    page.get_by_role("link", name="Ask for your account to be erased").click()
    assert page.get_by_text(mine.number).first.is_visible()
    assert page.get_by_role("heading", name="What we keep, and why").is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Erase my account").click()
    assert page.get_by_text("Confirm that you understand").first.is_visible()
    assert_accessible(page)
    alice.refresh_from_db()
    assert alice.is_active and alice.display_name == "Ally Wang"
