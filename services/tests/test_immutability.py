"""A published version never changes, whatever path the write takes (DESIGN §4)."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import IntegrityError

from services.actions import version_new_draft, version_publish
from services.models import Fee, FormField, MaterialRequirement, PublishedVersionError, ServiceVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(make_draft, administrator, certificate_type):
    version = make_draft()
    MaterialRequirement.objects.create(version=version, document_type=certificate_type)
    Fee.objects.create(version=version, label_en="Fee", label_zh="费用", amount=Decimal("10.00"))
    return version_publish(version=version, actor=administrator)


def test_save_is_refused(published):
    published.time_limit_days = 1
    with pytest.raises(PublishedVersionError):
        published.save()
    published.refresh_from_db()
    assert published.time_limit_days == 20


def test_delete_is_refused(published):
    with pytest.raises(PublishedVersionError):
        published.delete()
    with pytest.raises(PublishedVersionError):
        ServiceVersion.objects.filter(pk=published.pk).delete()
    assert ServiceVersion.objects.filter(pk=published.pk).exists()


def test_queryset_update_and_bulk_update_are_refused(published):
    with pytest.raises(PublishedVersionError):
        ServiceVersion.objects.filter(pk=published.pk).update(time_limit_days=1)
    published.time_limit_days = 1
    with pytest.raises(PublishedVersionError), transaction.atomic():
        ServiceVersion.objects.bulk_update([published], ["time_limit_days"])
    with pytest.raises(PublishedVersionError):
        ServiceVersion.objects.filter(pk=published.pk).update(status="draft")
    assert ServiceVersion.objects.get(pk=published.pk).time_limit_days == 20


def test_a_draft_cannot_be_published_by_a_plain_save(make_draft):
    draft = make_draft()
    draft.status = ServiceVersion.Status.PUBLISHED
    with pytest.raises(PublishedVersionError, match="only through the publish action"):
        draft.save()


def test_child_rows_are_frozen(published, elements):
    field = published.fields.first()
    field.required = False
    with pytest.raises(PublishedVersionError):
        field.save()
    with pytest.raises(PublishedVersionError):
        field.delete()
    with pytest.raises(PublishedVersionError):
        FormField.objects.filter(version=published).update(required=False)
    with pytest.raises(PublishedVersionError):
        Fee.objects.filter(version=published).delete()
    with pytest.raises(PublishedVersionError):
        MaterialRequirement.objects.filter(version=published).update(required=False)
    with pytest.raises(PublishedVersionError):
        Fee.objects.bulk_create([Fee(version=published, label_en="Extra", label_zh="额外", amount=Decimal(1))])
    with pytest.raises(PublishedVersionError):
        FormField.objects.create(version=published, element=elements["business.name"], order=99)
    assert published.fees.count() == 1
    assert all(field.required for field in published.fields.all())


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE services_serviceversion SET time_limit_days = 1 WHERE id = %s",
        "UPDATE services_serviceversion SET status = 'draft' WHERE id = %s",
        "DELETE FROM services_serviceversion WHERE id = %s",
        "UPDATE services_fee SET amount = 0 WHERE version_id = %s",
        "DELETE FROM services_formfield WHERE version_id = %s",
        "INSERT INTO services_fee (version_id, label_en, label_zh, amount) VALUES (%s, 'x', 'x', 1)",
    ],
)
def test_the_database_refuses_raw_sql_too(published, statement):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [published.pk])


def test_a_new_draft_copies_the_current_version_with_its_rows(published, administrator):
    draft = version_new_draft(service=published.service, actor=administrator)
    assert (draft.number, draft.status) == (2, ServiceVersion.Status.DRAFT)
    assert draft.route == published.route
    assert list(draft.fields.values_list("element__key", "order")) == list(
        published.fields.values_list("element__key", "order")
    )
    assert list(draft.materials.values_list("document_type__code", flat=True)) == ["test-certificate"]
    assert list(draft.fees.values_list("label_en", "amount")) == [("Fee", Decimal("10.00"))]
    # The draft is editable while the published version stays as it was.
    draft.fields.filter(element__key="business.name").delete()
    FormField.objects.filter(version=draft).update(required=False)
    assert published.fields.filter(element__key="business.name", required=True).exists()


def test_only_one_draft_at_a_time(published, administrator):
    version_new_draft(service=published.service, actor=administrator)
    with pytest.raises(Exception, match="already a draft"):
        version_new_draft(service=published.service, actor=administrator)


def test_retiring_through_the_action_is_the_one_change_allowed(published, administrator, make_draft):
    draft = version_new_draft(service=published.service, actor=administrator)
    version_publish(version=draft, actor=administrator)
    published.refresh_from_db()
    assert published.status == ServiceVersion.Status.RETIRED
    assert published.retired_at is not None
