"""Writes of the catalogue. Keyword-only, typed, one transaction each, every one recorded."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import User
from services.models import (
    CatalogueChange,
    Fee,
    FormField,
    MaterialRequirement,
    Service,
    ServiceVersion,
)
from services.validation import version_problems

CHANGE_SERVICE = "services.change_service"


class PublishRefused(ValidationError):
    """Publishing was refused; `.messages` lists every problem."""


def _service_of(obj: models.Model) -> Service | None:
    if isinstance(obj, Service):
        return obj
    if isinstance(obj, ServiceVersion):
        return obj.service
    version = getattr(obj, "version", None)
    if isinstance(version, ServiceVersion):
        return version.service
    return None


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    if isinstance(value, models.Model):
        return str(value)
    return str(value)


def catalogue_change_record(
    *,
    actor: User | None,
    obj: models.Model,
    action: str,
    changes: dict[str, Any] | None = None,
) -> CatalogueChange:
    """Appends who changed what; `changes` is {"field": {"from": old, "to": new}} or plain facts."""
    return CatalogueChange.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:300],
        service=_service_of(obj),
        changes={key: _jsonable(value) for key, value in (changes or {}).items()},
    )


@transaction.atomic
def version_publish(*, version: ServiceVersion, actor: User | None) -> ServiceVersion:
    """Publishes a draft after validating everything; retires the previously published version.

    Refuses with the full list of problems (PublishRefused) and then changes nothing.
    """
    version = ServiceVersion.objects.select_for_update().select_related("service").get(pk=version.pk)
    # Lock the service too, so two administrators publishing at once cannot both win.
    Service.objects.select_for_update().filter(pk=version.service_id).first()
    problems = version_problems(version)
    if problems:
        raise PublishRefused(problems, code="publish_refused")
    now = timezone.now()
    previous = list(
        ServiceVersion.objects.filter(service_id=version.service_id, status=ServiceVersion.Status.PUBLISHED)
    )
    if previous:
        ServiceVersion.objects.filter(pk__in=[old.pk for old in previous]).mark_retired(at=now)
        for old in previous:
            catalogue_change_record(
                actor=actor, obj=old, action=CatalogueChange.Action.RETIRED, changes={"replaced_by": version.number}
            )
    ServiceVersion.objects.filter(pk=version.pk).mark_published(at=now)
    version.refresh_from_db()
    catalogue_change_record(
        actor=actor,
        obj=version,
        action=CatalogueChange.Action.PUBLISHED,
        changes={"status": {"from": "draft", "to": "published"}},
    )
    return version


@transaction.atomic
def version_retire(*, version: ServiceVersion, actor: User | None) -> ServiceVersion:
    """Takes a published version out of the catalogue; applications keep it."""
    version = ServiceVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != ServiceVersion.Status.PUBLISHED:
        raise ValidationError(_("Only the published version can be retired."), code="not_published")
    ServiceVersion.objects.filter(pk=version.pk).mark_retired(at=timezone.now())
    version.refresh_from_db()
    catalogue_change_record(
        actor=actor,
        obj=version,
        action=CatalogueChange.Action.RETIRED,
        changes={"status": {"from": "published", "to": "retired"}},
    )
    return version


@transaction.atomic
def version_new_draft(*, service: Service, actor: User | None) -> ServiceVersion:
    """A new draft copying the current version (or the latest one) with its form, materials and fees.

    Refused while a draft exists, so two administrators never edit two drafts of one service.
    """
    service = Service.objects.select_for_update().get(pk=service.pk)
    existing = service.versions.filter(status=ServiceVersion.Status.DRAFT).first()
    if existing is not None:
        raise ValidationError(
            _("Version %(number)d is already a draft: change that one, or delete it first."),
            code="draft_exists",
            params={"number": existing.number},
        )
    source = (
        service.versions.filter(status=ServiceVersion.Status.PUBLISHED).first()
        or service.versions.order_by("-number").first()
    )
    number = (service.versions.aggregate(highest=Max("number"))["highest"] or 0) + 1
    draft = ServiceVersion.objects.create(
        service=service,
        number=number,
        time_limit_days=source.time_limit_days if source else 20,
        minimum_assurance=source.minimum_assurance
        if source
        else ServiceVersion._meta.get_field("minimum_assurance").default,
        eligibility=source.eligibility if source else [],
        roles=source.roles if source else [],
        produces=source.produces if source else [],
        route=source.route if source else {},
        rejection_reasons=source.rejection_reasons if source else [],
    )
    if source is not None:
        FormField.objects.bulk_create(
            FormField(
                version=draft,
                element_id=field.element_id,
                section_en=field.section_en,
                section_zh=field.section_zh,
                required=field.required,
                when=field.when,
                order=field.order,
            )
            for field in source.fields.all()
        )
        MaterialRequirement.objects.bulk_create(
            MaterialRequirement(
                version=draft,
                document_type_id=material.document_type_id,
                required=material.required,
                when=material.when,
                order=material.order,
            )
            for material in source.materials.all()
        )
        Fee.objects.bulk_create(
            Fee(
                version=draft,
                label_en=fee.label_en,
                label_zh=fee.label_zh,
                amount=fee.amount,
                per_unit=fee.per_unit,
                exempt_when=fee.exempt_when,
                refund_on_withdrawal=fee.refund_on_withdrawal,
                refund_on_rejection=fee.refund_on_rejection,
            )
            for fee in source.fees.all()
        )
    catalogue_change_record(
        actor=actor,
        obj=draft,
        action=CatalogueChange.Action.DRAFTED,
        changes={"copied_from": source.number if source else None},
    )
    return draft


@transaction.atomic
def service_grant_change(*, service: Service, user: User, actor: User | None) -> None:
    """Lets a department administrator edit this one service (django-guardian object permission)."""
    assign_perm(CHANGE_SERVICE, user, service)
    catalogue_change_record(
        actor=actor, obj=service, action=CatalogueChange.Action.GRANTED, changes={"user": user.username}
    )


@transaction.atomic
def service_revoke_change(*, service: Service, user: User, actor: User | None) -> None:
    remove_perm(CHANGE_SERVICE, user, service)
    catalogue_change_record(
        actor=actor, obj=service, action=CatalogueChange.Action.REVOKED, changes={"user": user.username}
    )
