"""Submitting once (DESIGN §5.1): one transaction creates every application of the draft, with its
number and statutory due date, and the engine's start in the outbox; the same key returns the
same submission."""

import datetime
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.assurance import Level
from accounts.models import User
from lib.compiled import Compiled
from services.conditions import evaluate
from services.models import ServiceVersion
from services.routes import parse_route
from workflows import clock
from workflows.apply.actions.identity import bound_values
from workflows.apply.actions.refusals import (
    APPLICATION_START_TASK,
    AssuranceTooLow,
    CalendarNotReady,
    DraftIncomplete,
    DraftStale,
    IdempotencyKeyReused,
)
from workflows.apply.selectors import (
    attachments_by_type,
    given_values,
    group_for_user,
    group_form,
    group_verified_values,
    missing_items,
    needed_assurance,
    ordered_versions,
    stale_versions,
    version_parts,
)
from workflows.engine.events import event_record
from workflows.models import Application, ApplicationEvent, ApplicationGroup, GroupDocument
from workflows.numbers import number_allocate
from workflows.outbox import outbox_enqueue

# --- Submission ---------------------------------------------------------------------------

logger = logging.getLogger("workflows.apply.actions")


def _statutory_due_at(start: datetime.datetime, days: int | None) -> datetime.datetime | None:
    if not days:
        return None
    try:
        return clock.add_working_days(start, days)
    except clock.CalendarMissing as missing:
        raise CalendarNotReady(missing) from missing


def _version_data(version: ServiceVersion, data: Mapping[str, Any]) -> dict[str, Any]:
    """What one department receives: only the answers its own form asks (and shows)."""
    return {
        f.element.key: data[f.element.key]
        for f in version_parts([version])[version.pk].fields
        if evaluate(f.when, data) and data.get(f.element.key) not in (None, "", [])
    }


def bundle_waits(versions: list[ServiceVersion]) -> dict[int, list[str]]:
    """Version id → codes of the sibling services whose approval (and the data it produces) its
    route waits for (`waits_for`), among the services of this submission that produce something.
    A service applied for alone waits for nothing: the applicant gave that data themselves."""
    producers = {version.service.code for version in versions if version.produces}
    waits: dict[int, list[str]] = {}
    for version in versions:
        codes = {code for step in parse_route(version.route) for code in step.waits_for}
        found = sorted(code for code in codes if code in producers and code != version.service.code)
        if found:
            waits[version.pk] = found
    return waits


# Every submit looks for an earlier one with its key: compiled once per process (lib/compiled.py).
_group_by_key = Compiled(
    lambda user, key: ApplicationGroup.objects.filter(applicant_id=user, idempotency_key=key).order_by("pk")[:1]
)


def _submitted_by_key(applicant: User, key: str, group_id: int | str) -> ApplicationGroup | None:
    existing = _group_by_key.first(user=applicant.pk, key=key)
    if existing is None:
        return None
    if str(existing.pk) != str(group_id):
        raise IdempotencyKeyReused(_("This submission key was already used for another application."))
    return existing


@dataclass(frozen=True)
class SubmitOutcome:
    group: ApplicationGroup
    created: bool  # False: this was a repeat, answered with the first submission
    applications: list[Application]  # the group's applications, by number (with their services)


def _applications_of(group: ApplicationGroup) -> list[Application]:
    return list(Application.objects.filter(group=group).select_related("service").order_by("number"))


def group_submit(
    *,
    applicant: User,
    group_id: int | str,
    idempotency_key: str,
    assurance: Level = Level.LOW,
    actor: User | None = None,
) -> SubmitOutcome:
    """Submits a draft once: one Application per pinned version, numbered, pinned, `submitted`,
    and the engine's start recorded in the outbox in the same transaction.

    `assurance` is how sure we are of who is submitting (the session's level; the counter's
    in-person identity check is `high`). Below what a pinned version needs, the submission is
    refused (AssuranceTooLow) and the draft kept, so the person can step up and come back.

    `actor` is who pressed submit when it is not the applicant (a delegate acting under a
    mandate): the event records them, and the applicant is told.

    Idempotent: the same key, or a second submit of an already submitted draft (double
    click, network retry, two tabs), returns the group submitted the first time.
    Raises DraftStale, DraftIncomplete, IdempotencyKeyReused; Http404 for an outsider.
    """
    key = idempotency_key.strip()[:100]
    if not key:
        raise ValueError("an idempotency key is required")
    try:
        with transaction.atomic():
            group = group_for_user(user=applicant, group_id=group_id, for_update=True)
            if not group.is_draft:
                # Submitted already (a retry, the other click, the other tab): the same answer,
                # unless this key submitted another of the applicant's drafts.
                if group.idempotency_key != key:
                    _submitted_by_key(applicant, key, group_id)
                return SubmitOutcome(group, created=False, applications=_applications_of(group))
            applications = _submit_locked(
                applicant=applicant, group=group, key=key, assurance=assurance, actor=actor or applicant
            )
    except IntegrityError:
        # The key is another draft's of this applicant (submitted before, or at the same moment).
        existing = _submitted_by_key(applicant, key, group_id)
        if existing is None:
            raise
        return SubmitOutcome(existing, created=False, applications=_applications_of(existing))
    # What was loaded as a draft (no applications, maybe documents no longer needed) is not
    # kept: read again if asked.
    for name in ("applications", "documents"):
        getattr(group, "_prefetched_objects_cache", {}).pop(name, None)
    return SubmitOutcome(group, created=True, applications=sorted(applications, key=lambda a: a.number))


def _submit_locked(
    *, applicant: User, group: ApplicationGroup, key: str, assurance: Level, actor: User
) -> list[Application]:
    stale = stale_versions(group)
    if stale:
        raise DraftStale(stale)
    level_needed = needed_assurance(group.versions.all())
    if not Level(assurance).covers(level_needed):
        logger.info("submit refused group=%s needs=%s session=%s", group.pk, level_needed, assurance)
        raise AssuranceTooLow(level_needed)
    form = group_form(group)
    attachments = attachments_by_type(group)
    # Identity elements are the applicant's verified values, whatever the draft holds (refused,
    # before anything else is checked, while the person has no verified identity).
    bound = bound_values(form.shown_fields(group.data), group_verified_values(group, form))
    # So are a role's elements ("I am the mother") and what is worked out from another answer.
    if form.roles or any(spec.derived_from for spec in form.fields):
        given = given_values(form=form, data={**group.data, **bound}, verified=group_verified_values(group, form))
        bound.update({key: reuse.value for key, reuse in given.items()})
    if any(group.data.get(key) != value for key, value in bound.items()):
        group.data = {**group.data, **bound}
        group.save(update_fields=["data"])
    missing = missing_items(form=form, data=group.data, attachments=attachments)
    if missing:
        raise DraftIncomplete(missing)
    # Documents for materials no longer needed (a condition turned false) are not sent.
    needed = {m.document_type.pk for m in form.shown_materials(group.data)}
    if any(type_id not in needed for type_id in attachments):
        GroupDocument.objects.filter(group=group).exclude(document_type_id__in=needed).delete()
    now = timezone.now()
    year = timezone.localdate(now).year
    versions = ordered_versions(group.versions.all(), group.life_event)
    # Everything that needs no lock first (the calendar lookup of the statutory due date too):
    # the number counter's row lock and the audit chain's lock are held until commit, so they
    # are taken last — numbers, then the rows that need them, then the audit events.
    planned = [
        (version, _version_data(version, group.data), _statutory_due_at(now, version.time_limit_days))
        for version in versions
    ]
    waits = bundle_waits(versions)
    applications = []
    for version, data, due_at in planned:
        application = Application.objects.create(
            group=group,
            applicant=applicant,
            number=number_allocate(f"{year}-{version.service.lead_department.short_code}"),
            service=version.service,
            service_version=version,
            status=Application.Status.SUBMITTED,
            data=data,
            statutory_due_at=due_at,
            submitted_at=now,
            waiting_for=waits.get(version.pk, []),
        )
        applications.append(application)
        # The engine routes it; the task is sent only after this transaction commits.
        outbox_enqueue(task=APPLICATION_START_TASK, kwargs={"application_id": application.pk})
    group.number = applications[0].number if len(applications) == 1 else number_allocate(f"{year}-EVT")
    group.idempotency_key = key
    group.submitted_at = now
    group.save(update_fields=["number", "idempotency_key", "submitted_at", "updated_at"])
    # Last: the first audit insert takes the chain's one lock (every submit and every clerk's
    # data access waits for it) until this transaction commits.
    for application in applications:
        flagged = [key for key in group.changed_verified if key in application.data]
        event_record(
            application=application,
            kind=ApplicationEvent.Kind.APPLICATION_SUBMITTED,
            from_status="draft",
            to_status=Application.Status.SUBMITTED,
            actor=actor,
            payload={"changed_verified": flagged} if flagged else {},
        )
    logger.info("submitted group=%s applications=%s", group.number, ",".join(a.number for a in applications))
    return applications
