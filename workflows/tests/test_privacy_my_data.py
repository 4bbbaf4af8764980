"""My data: the download holds everything about the person and nothing of anyone else; only its
owner downloads it, for seven days; correction changes only what the person typed; erasure
explains first, then does what it said."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts.models import User, VerifiedAttribute
from documents.models import Document
from documents.storage import private_storage
from workflows.models import (
    ApplicationGroup,
    DataAccessRecord,
    DataExport,
    ErasureRequest,
    GroupDocument,
    Notification,
    NotificationPreference,
)
from workflows.notifications.notify import notify
from workflows.privacy.export import data_export_build, data_exports_expire
from workflows.tests.factories import supporting_type
from workflows.tests.progress_support import decide, submit
from workflows.workbench.access import application_viewed
from workflows.workbench.selectors import Visible

NOTHING_SHOWN = Visible(elements=(), documents=())

pytestmark = pytest.mark.django_db
URL = "/account/data/"


def vault_document(owner, name: str, content: bytes) -> Document:
    stored = private_storage.save(f"my-data-test/{name}", io.BytesIO(content))
    return Document.objects.create(
        owner=owner, document_type=supporting_type(), file=stored, display_name=name,
        sha256=str(abs(hash(content))).ljust(64, "0")[:64], size=len(content), content_type="application/pdf",
        scan_status=Document.ScanStatus.CLEAN,
    )  # fmt: skip


@pytest.fixture
def alices_world(alice, bob, clerk_a, django_capture_on_commit_callbacks):
    """Alice with an application (looked at by clerk A), a vault document, a draft and a
    message; Bob with his own of each, which must never reach Alice's download."""
    VerifiedAttribute.objects.create(user=alice, element_key="person.full_name", value="Alice Wang", source="eid")
    application = submit(django_capture_on_commit_callbacks, applicant=alice)
    lease = vault_document(alice, "alice-lease.pdf", b"%PDF-1.4 alice lease")
    GroupDocument.objects.create(group=application.group, document_type=lease.document_type, document=lease)
    application_viewed(accessor=clerk_a, work_item=application.work_items.get(), visible=NOTHING_SHOWN)
    ApplicationGroup.objects.create(applicant=alice, data={"business.name": "Draft Dumplings"})
    bobs = submit(django_capture_on_commit_callbacks, applicant=bob)
    vault_document(bob, "bob-secret.pdf", b"%PDF-1.4 bob secret")
    notify(user=bob, event=Notification.Event.RECEIPT, context={}, application=bobs)
    return application


def download(client, capture) -> zipfile.ZipFile:
    with capture(execute=True):
        assert client.post(URL).status_code == 302
    export = DataExport.objects.latest("pk")
    assert export.status == DataExport.Status.READY and export.progress == 100
    response = client.get(reverse("workflows:privacy-export-download", args=[export.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_download_holds_everything_about_alice_and_nothing_of_bob(
    client, alice, alices_world, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    archive = download(client, django_capture_on_commit_callbacks)
    names = set(archive.namelist())
    for part in ("profile", "verified_attributes", "applications", "drafts", "documents", "access_records",
                 "notifications", "ratings"):  # fmt: skip
        assert f"{part}.json" in names
    assert "summary.html" in names
    profile = json.loads(archive.read("profile.json"))
    assert profile["username"] == alice.username
    applications = json.loads(archive.read("applications.json"))
    assert [a["number"] for a in applications] == [alices_world.number]
    assert applications[0]["answers"]["business.name"] == "Noodle House"
    assert applications[0]["events"], "the timeline she sees"
    assert json.loads(archive.read("drafts.json"))[0]["answers"] == {"business.name": "Draft Dumplings"}
    documents = json.loads(archive.read("documents.json"))
    assert [d["name"] for d in documents] == ["alice-lease.pdf"]
    assert archive.read(documents[0]["file"]) == b"%PDF-1.4 alice lease"
    access = json.loads(archive.read("access_records.json"))
    assert access and access[0]["who"] == "Clerk A" and access[0]["application"] == alices_world.number
    verified = json.loads(archive.read("verified_attributes.json"))
    assert verified[0]["value"] == "Alice Wang"
    everything = b"".join(archive.read(name) for name in names).decode()
    assert "bob-secret" not in everything and "Bob" not in everything
    assert "Alice Wang" in archive.read("summary.html").decode()


def test_only_alice_downloads_her_data(client, alice, bob, alices_world, django_capture_on_commit_callbacks):
    client.force_login(alice)
    download(client, django_capture_on_commit_callbacks)
    export = DataExport.objects.get(user=alice)
    url = reverse("workflows:privacy-export-download", args=[export.pk])
    client.force_login(bob)
    assert client.get(url).status_code == 404
    assert client.get(reverse("workflows:privacy-export-download", args=[export.pk + 1000])).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_the_download_expires_after_seven_days(client, alice, django_capture_on_commit_callbacks):
    client.force_login(alice)
    download(client, django_capture_on_commit_callbacks)
    export = DataExport.objects.get(user=alice)
    url = reverse("workflows:privacy-export-download", args=[export.pk])
    with time_machine.travel(export.ready_at + timedelta(days=7, seconds=1), tick=False):
        client.force_login(alice)
        assert client.get(url).status_code == 404
        assert "Your last download has expired" in client.get(URL).content.decode()
        assert data_exports_expire() == 1
    export.refresh_from_db()
    assert not export.file


def test_the_page_shows_progress_while_it_is_prepared(client, alice):
    client.force_login(alice)
    client.post(URL)  # on_commit never runs here: the export stays pending
    page = client.get(URL).content.decode()
    assert "We are preparing your data." in page and 'hx-trigger="every 2s"' in page
    assert "Check again" in page  # without JavaScript: a reload
    partial = client.get(URL, HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="export-status"') and "<html" not in partial
    # Asking again while it is prepared starts nothing new.
    client.post(URL)
    assert DataExport.objects.filter(user=alice).count() == 1


def test_building_twice_does_the_work_once(alice):
    export = DataExport.objects.create(user=alice)
    assert data_export_build(export_id=export.pk) == "ready"
    assert data_export_build(export_id=export.pk) == "already taken"


# --- Correction -------------------------------------------------------------------------


def test_alice_corrects_her_name_and_language_but_not_her_verified_identity(client, alice):
    VerifiedAttribute.objects.create(user=alice, element_key="person.full_name", value="Alice Wang", source="eid")
    client.force_login(alice)
    response = client.post(
        "/account/data/profile/",
        {
            "display_name": "  Ally   Wang ",
            "preferred_language": "zh-hans",
            "email": alice.email,
            "person.full_name": "X",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.display_name == "Ally Wang" and alice.preferred_language == "zh-hans"
    assert VerifiedAttribute.objects.get(user=alice, element_key="person.full_name").value == "Alice Wang"


def test_a_new_email_address_is_unconfirmed_until_its_link_is_followed(client, alice, mailoutbox):
    client.force_login(alice)
    client.post(
        "/account/data/profile/", {"display_name": "Alice", "preferred_language": "en", "email": "new@example.org"}
    )
    alice.refresh_from_db()
    assert alice.email == "new@example.org" and alice.email_verified_at is None
    assert mailoutbox and mailoutbox[-1].to == ["new@example.org"]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"display_name": "", "preferred_language": "en"}, "Enter the name we should greet you by."),
        ({"display_name": "A", "preferred_language": "fr"}, "Choose English or Chinese."),
        ({"display_name": "A", "preferred_language": "en", "email": "not-an-address"}, "Enter an e-mail address"),
    ],
)
def test_bad_corrections_are_explained(client, alice, data, message):
    client.force_login(alice)
    response = client.post("/account/data/profile/", data)
    assert response.status_code == 400 and message in response.content.decode()


def test_another_persons_email_address_is_refused(client, alice, bob):
    client.force_login(alice)
    response = client.post(
        "/account/data/profile/", {"display_name": "A", "preferred_language": "en", "email": bob.email.upper()}
    )
    assert response.status_code == 400 and "Another account uses this e-mail address." in response.content.decode()


# --- Erasure ----------------------------------------------------------------------------


def test_erasure_explains_what_is_kept_while_an_application_is_in_progress(client, alice, alices_world):
    client.force_login(alice)
    page = client.get("/account/data/erase/").content.decode()
    assert "1 draft application" in page
    assert "0 documents in your vault that no submitted application uses" in page  # the lease is in use
    assert alices_world.number in page and "Still being handled" in page
    assert "The law requires departments to keep submitted applications" in page
    refused = client.post("/account/data/erase/")
    assert refused.status_code == 400 and "Confirm that you understand" in refused.content.decode()
    assert User.objects.get(pk=alice.pk).is_active


def test_erasure_does_what_it_said(client, alice, bob, clerk_a, alices_world, django_capture_on_commit_callbacks):
    loose = vault_document(alice, "old-photo.pdf", b"%PDF-1.4 photo")
    NotificationPreference.objects.create(user=alice, sms=True, phone="13800138000")
    decide(django_capture_on_commit_callbacks, alices_world, "licence", clerk_a)
    records = DataAccessRecord.objects.filter(applicant=alice).count()
    client.force_login(alice)
    response = client.post("/account/data/erase/", {"confirm": "on"})
    assert response.status_code == 302 and response.url == "/"
    alice.refresh_from_db()
    assert not alice.is_active and alice.email == "" and alice.username == f"erased-{alice.pk}"
    assert not alice.has_usable_password()
    # Erased now: the draft, the loose document, messages, phone number.
    assert not ApplicationGroup.objects.filter(applicant=alice, submitted_at__isnull=True).exists()
    loose.refresh_from_db()
    assert loose.erased_at is not None
    assert not Notification.objects.filter(user=alice).exists()
    assert not NotificationPreference.objects.filter(user=alice).exists()
    # Kept: the application within its retention, its document, the identity it belongs to,
    # and the audit trail untouched.
    alices_world.refresh_from_db()
    assert alices_world.data["business.name"] == "Noodle House"
    assert alices_world.group.documents.get().document.erased_at is None
    assert VerifiedAttribute.objects.filter(user=alice, element_key="person.full_name").exists()
    assert alice.display_name == "Alice Wang"
    assert DataAccessRecord.objects.filter(applicant=alice).count() == records
    request = ErasureRequest.objects.get(user=alice)
    assert request.erased["drafts"] == 1 and request.erased["documents"] == 1
    assert request.kept[0]["number"] == alices_world.number and request.kept[0]["until"]
    # She is signed out and cannot sign in again; Bob's data is untouched.
    assert client.get(URL).status_code == 302
    assert Notification.objects.filter(user=bob).exists()


def test_erasure_with_nothing_to_keep_erases_the_identity_too(client, bob):
    VerifiedAttribute.objects.create(user=bob, element_key="person.id_number", value="110101198803151237", source="eid")
    client.force_login(bob)
    page = client.get("/account/data/erase/").content.decode()
    assert "You have no submitted applications, so we keep no application data." in page
    client.post("/account/data/erase/", {"confirm": "on"})
    bob.refresh_from_db()
    assert not bob.is_active and not VerifiedAttribute.objects.filter(user=bob).exists() and bob.resident_id == ""


def test_staff_accounts_are_not_erased_here(client, clerk_a):
    client.force_login(clerk_a)
    assert client.get("/account/data/erase/").status_code == 404
    assert client.post("/account/data/erase/", {"confirm": "on"}).status_code == 404
    assert User.objects.get(pk=clerk_a.pk).is_active


def test_asking_again_and_again_is_limited(client, alice, bob, django_capture_on_commit_callbacks):
    from django.core.cache import cache

    cache.clear()
    client.force_login(alice)
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(URL)
    response = client.post(URL, follow=True)
    assert "Try again tomorrow." in response.content.decode()
    assert DataExport.objects.filter(user=alice).count() == 5
    client.force_login(bob)  # the limit is Alice's alone
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL)
    assert DataExport.objects.filter(user=bob).count() == 1
