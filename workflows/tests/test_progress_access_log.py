"""Who looked at my data: every kind of clerk look appears with who, department, when, what and
which application/step; filter, CSV, pagination; Bob never sees Alice's."""

import csv
import io

import pytest
from django.urls import reverse

from documents.models import Document
from workflows.tests.factories import supporting_type
from workflows.tests.progress_support import TWO_DEPARTMENTS, decide, item, submit
from workflows.workbench.access import application_viewed, document_opened, field_revealed
from workflows.workbench.selectors import Visible

NOTHING_SHOWN = Visible(elements=(), documents=())

pytestmark = pytest.mark.django_db
URL = "/account/access-log/"


@pytest.fixture
def looked_at(alice, clerk_a, clerk_b, django_capture_on_commit_callbacks):
    application = submit(django_capture_on_commit_callbacks, applicant=alice, route=TWO_DEPARTMENTS)
    licence = item(application, "licence")
    application_viewed(accessor=clerk_a, work_item=licence, visible=NOTHING_SHOWN)
    field_revealed(accessor=clerk_a, work_item=licence, field_key="person.id_number")
    document = Document.objects.create(
        owner=alice, document_type=supporting_type(), file="x/lease.pdf", display_name="lease.pdf",
        sha256="0" * 64, size=10, content_type="application/pdf", scan_status=Document.ScanStatus.CLEAN,
    )  # fmt: skip
    document_opened(accessor=clerk_a, work_item=licence, document=document)
    decide(django_capture_on_commit_callbacks, application, "licence", clerk_a)
    application_viewed(accessor=clerk_b, work_item=item(application, "fire"), visible=NOTHING_SHOWN)
    return application


def test_every_kind_of_look_is_listed(client, alice, looked_at):
    assert reverse("workflows:progress-access-log") == URL
    client.force_login(alice)
    page = client.get(URL).content.decode()
    assert "4 records" in page
    assert "Clerk A" in page and "Market Regulation" in page
    assert "Clerk B" in page and "Fire and Rescue" in page
    assert "Viewed the application" in page
    assert "Revealed a protected field: person.id_number" in page
    assert "Opened a document: Lease contract" in page
    # Steps by their names (the route's label, or what the step does), never their keys.
    assert looked_at.number in page and "step: Business licence" in page and "step: Fire safety check" in page


def test_filter_by_application(client, alice, clerk_a, looked_at, django_capture_on_commit_callbacks):
    other = submit(django_capture_on_commit_callbacks, applicant=alice, route=TWO_DEPARTMENTS)
    application_viewed(accessor=clerk_a, work_item=item(other, "licence"), visible=NOTHING_SHOWN)
    client.force_login(alice)
    assert "5 records" in client.get(URL).content.decode()
    page = client.get(URL, {"application": other.number}).content.decode()
    assert "1 record" in page and "Viewed the application" in page


def test_csv_export(client, alice, looked_at):
    client.force_login(alice)
    response = client.get(URL, {"format": "csv"})
    assert response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["When", "Who", "Department", "What", "Application", "Work item"]
    assert len(rows) == 5
    assert {row[1] for row in rows[1:]} == {"Clerk A", "Clerk B"}


def test_pagination(client, alice, clerk_a, looked_at):
    work_item = item(looked_at, "licence")
    for _ in range(50):
        application_viewed(accessor=clerk_a, work_item=work_item, visible=NOTHING_SHOWN)
    client.force_login(alice)
    first = client.get(URL).content.decode()
    assert "54 records" in first and "Page 1 of 2" in first
    assert "Page 2 of 2" in client.get(URL, {"page": 2}).content.decode()


def test_bob_sees_none_of_alices_records(client, bob, looked_at):
    client.force_login(bob)
    page = client.get(URL).content.decode()
    assert "Nobody has looked at your data yet." in page and "Clerk A" not in page
    assert "Clerk A" not in client.get(URL, {"application": looked_at.number}).content.decode()
    assert b"Clerk A" not in b"".join(client.get(URL, {"format": "csv"}).streaming_content)
    assert client.get("/api/my/access-log/").json()["count"] == 0


def test_api_lists_the_records(client, alice, looked_at):
    client.force_login(alice)
    body = client.get("/api/my/access-log/", {"application": looked_at.number}).json()
    assert body["count"] == 4
    assert {r["what"] for r in body["results"]} == {"view_application", "reveal_field", "open_document"}
    assert all(r["application"] == looked_at.number for r in body["results"])
