"""Every look at an applicant's data writes an access record (who, department, whose data,
which application and step, what, when) — and a refused look writes none."""

import pytest

from workflows.models import DataAccessRecord
from workflows.tests.test_workbench_support import attach_lease, routed_application, step, version_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(alice, department_a, department_b):
    return routed_application(applicant=alice, version=version_with())


@pytest.fixture
def item(application):
    return step(application)


def test_viewing_the_page_is_recorded(client, clerk_a, alice, department_a, application, item):
    client.force_login(clerk_a)
    client.get(f"/workbench/items/{item.pk}/")
    record = DataAccessRecord.objects.get()
    assert (record.accessor, record.department, record.applicant) == (clerk_a, department_a, alice)
    assert (record.application, record.work_item) == (application, item)
    assert record.what == DataAccessRecord.What.VIEW_APPLICATION
    assert record.created_at is not None


def test_revealing_a_field_is_recorded_with_the_field(client, clerk_a, item):
    client.force_login(clerk_a)
    client.post(f"/workbench/items/{item.pk}/reveal/", {"field": "person.id_number"})
    record = DataAccessRecord.objects.get()
    assert (record.what, record.field_key) == (DataAccessRecord.What.REVEAL_FIELD, "person.id_number")


def test_opening_a_document_is_recorded_with_the_document(client, clerk_a, application, item):
    document = attach_lease(application)
    client.force_login(clerk_a)
    client.get(f"/workbench/items/{item.pk}/documents/{document.pk}/")
    record = DataAccessRecord.objects.get()
    assert (record.what, record.document) == (DataAccessRecord.What.OPEN_DOCUMENT, document)


def test_the_queue_records_who_was_shown_and_nothing_more(client, clerk_a, item):
    client.force_login(clerk_a)
    client.get("/workbench/")
    record = DataAccessRecord.objects.get()
    assert record.what == DataAccessRecord.What.LISTED
    assert (record.accessor, record.applicant_id, record.application_id) == (
        clerk_a,
        item.application.applicant_id,
        item.application_id,
    )
    # The API's queue is a list that shows names too.
    client.get("/api/workbench/items/")
    assert DataAccessRecord.objects.filter(what=DataAccessRecord.What.LISTED).count() == 2


def test_refused_looks_record_nothing(client, clerk_b, bob, application, item):
    document = attach_lease(application)
    for user in (clerk_b, bob):
        client.force_login(user)
        assert client.get(f"/workbench/items/{item.pk}/").status_code == 404
        assert client.post(f"/workbench/items/{item.pk}/reveal/", {"field": "person.id_number"}).status_code == 404
        assert client.get(f"/workbench/items/{item.pk}/documents/{document.pk}/").status_code == 404
    assert not DataAccessRecord.objects.exists()


def test_alice_sees_who_looked(client, clerk_a, alice, application, item):
    client.force_login(clerk_a)
    client.get(f"/workbench/items/{item.pk}/")
    client.force_login(alice)
    body = client.get("/account/access-log/").content.decode()
    assert application.number in body
    assert "Market Regulation" in body
