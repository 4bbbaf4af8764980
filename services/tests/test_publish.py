"""Publishing: everything is validated, every problem is listed, nothing is half-published."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from services.actions import PublishRefused, version_new_draft, version_publish, version_retire
from services.models import CatalogueChange, Fee, FormField, MaterialRequirement, ServiceVersion

pytestmark = pytest.mark.django_db


def test_a_valid_draft_is_published_and_recorded(make_draft, administrator):
    version = version_publish(version=make_draft(), actor=administrator)
    assert version.status == ServiceVersion.Status.PUBLISHED
    assert version.published_at is not None
    change = CatalogueChange.objects.get(action=CatalogueChange.Action.PUBLISHED)
    assert change.actor == administrator
    assert change.service == version.service
    assert change.changes == {"status": {"from": "draft", "to": "published"}}


def test_publishing_a_new_version_retires_the_previous_one(make_draft, administrator):
    first = version_publish(version=make_draft(), actor=administrator)
    second = version_publish(version=version_new_draft(service=first.service, actor=administrator), actor=administrator)
    first.refresh_from_db()
    assert first.status == ServiceVersion.Status.RETIRED
    assert second.status == ServiceVersion.Status.PUBLISHED
    assert second.number == 2


def test_a_refused_publish_lists_every_problem_and_changes_nothing(make_draft, administrator, elements):
    version = make_draft(
        {"steps": [{"key": "check", "department": "nowhere", "kind": "review"}]},
        eligibility=[{"when": {"element": "business.floor_area_m2", "gte": "lots"}}],
    )
    Fee.objects.create(version=version, label_en="Stamp duty", label_zh="印花税", amount=Decimal("-5.00"))
    FormField.objects.filter(version=version, element=elements["business.cuisine"]).update(
        when={"element": "business.colour", "eq": "red"}
    )
    with pytest.raises(PublishRefused) as refused:
        version_publish(version=version, actor=administrator)
    assert refused.value.messages == [
        "Form field “business.cuisine”, “shown when”: condition names “business.colour”, "
        "which is not a field on the form.",
        "Fee “Stamp duty”: the amount cannot be negative.",
        "Eligibility rule 1 has no reason (reason_en) to show when it fails.",
        "Eligibility rule 1: condition on “business.floor_area_m2”: “lots” is not a number.",
        "Step “check”: there is no department with the code “nowhere”.",
    ]
    version.refresh_from_db()
    assert version.status == ServiceVersion.Status.DRAFT
    assert not CatalogueChange.objects.filter(action=CatalogueChange.Action.PUBLISHED).exists()


def test_a_non_numeric_fee_never_reaches_the_catalogue(make_draft):
    version = make_draft()
    with pytest.raises(ValidationError, match="must be a decimal number"), transaction.atomic():
        Fee.objects.create(version=version, label_en="Fee", label_zh="费用", amount="twelve yuan")
    assert not version.fees.exists()


def test_a_form_without_fields_is_refused(make_draft, administrator):
    version = make_draft(fields=[], route={"steps": [{"key": "check", "department": "market", "kind": "review"}]})
    with pytest.raises(PublishRefused) as refused:
        version_publish(version=version, actor=administrator)
    assert refused.value.messages == ["The form has no fields: add at least one data element."]


def test_material_conditions_are_validated(make_draft, administrator, certificate_type):
    version = make_draft()
    MaterialRequirement.objects.create(
        version=version, document_type=certificate_type, when={"element": "business.has_employees", "lt": 3}
    )
    with pytest.raises(PublishRefused) as refused:
        version_publish(version=version, actor=administrator)
    assert refused.value.messages == [
        "Material “test-certificate”, “needed when”: condition on “business.has_employees” uses “lt”, "
        "which does not apply to a boolean element."
    ]


def test_only_a_draft_can_be_published_and_only_the_published_retired(make_draft, administrator):
    version = version_publish(version=make_draft(), actor=administrator)
    with pytest.raises(PublishRefused, match="Only a draft can be published"):
        version_publish(version=version, actor=administrator)
    retired = version_retire(version=version, actor=administrator)
    assert retired.status == ServiceVersion.Status.RETIRED
    with pytest.raises(ValidationError, match="Only the published version"):
        version_retire(version=retired, actor=administrator)
