"""Writes for applying once: start a draft, save it field by field, attach documents, move a
stale draft to the current versions, submit idempotently, purge abandoned drafts.

Each action is keyword-only and runs in one transaction. The group row is locked
(`select_for_update`) for every change of a draft, so two tabs or a double click are
serialised by the database; outsiders get Http404 from the scoped selector.
"""

import datetime
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.models import Organisation, User
from documents.actions import document_upload
from documents.models import Document
from documents.selectors import document_for_user, reusable_documents
from lib.refusals import Refused
from lib.text import join_names
from services.conditions import evaluate
from services.elements import validate_value
from services.models import DocumentType, LifeEvent, Service, ServiceVersion
from services.selectors import current_version, life_event_versions
from workflows import clock
from workflows.apply.selectors import (
    MergedForm,
    Missing,
    attachments_by_type,
    group_documents_reload,
    group_documents_replace,
    group_for_user,
    group_form,
    group_known_values_keep,
    group_load_new,
    group_load_related,
    group_verified_values,
    known_values,
    merged_form,
    missing_items,
    ordered_versions,
    prefill_values,
    stale_versions,
    version_parts,
)
from workflows.engine.events import event_record
from workflows.models import Application, ApplicationEvent, ApplicationGroup, GroupDocument
from workflows.numbers import number_allocate
from workflows.outbox import outbox_enqueue

logger = logging.getLogger(__name__)

APPLICATION_START_TASK = "workflows.application_start"


class ApplyError(Refused):
    """A refusal with one clear sentence for the applicant."""


class ServiceUnavailable(ApplyError):
    """The service (or every service of the life event) has no published version to apply for."""


class NotARepresentative(ApplyError):
    pass


class DraftAlreadySubmitted(ApplyError):
    pass


class DraftIncomplete(ApplyError):
    def __init__(self, missing: list[Missing]) -> None:
        super().__init__(_("Some answers or documents are still missing."))
        self.missing = missing


class CalendarNotReady(ApplyError):
    """The statutory deadline would reach a year whose working-day calendar is not published."""

    status_code = 503

    def __init__(self, missing: clock.CalendarMissing) -> None:
        super().__init__(str(missing))
        self.year = missing.year


class DraftStale(ApplyError):
    def __init__(self, versions: list[ServiceVersion]) -> None:
        names = join_names(v.service.name for v in versions)
        super().__init__(
            _(
                "The rules of %(services)s changed since you started this draft. Move it to the current "
                "version to continue; your answers are kept."
            )
            % {"services": names}
        )
        self.versions = versions


class IdempotencyKeyReused(ApplyError):
    pass


class AttachRefused(ApplyError):
    pass


# --- Starting a draft ---------------------------------------------------------------------


def draft_start(
    *,
    applicant: User,
    service: Service | None = None,
    life_event: LifeEvent | None = None,
    organisation: Organisation | None = None,
) -> ApplicationGroup:
    """A new server-side draft for one service or every service of a life event, made by the
    applicant for themselves or on behalf of an organisation they represent.

    Pins the current published versions, and prefills what is already known (verified
    profile, earlier approved applications): the applicant sees it marked and may change it.
    """
    if (service is None) == (life_event is None):
        raise ValueError("a draft is for one service or one life event")
    if life_event is not None:
        prefetch_related_objects([life_event], "entries")  # read once (a no-op if the caller did)
        versions = life_event_versions(life_event)
    else:
        assert service is not None
        version = current_version(service)
        versions = [version] if version is not None else []
    if not versions:
        raise ServiceUnavailable(_("This service cannot be applied for online at the moment."))
    if organisation is not None and not organisation.representatives.filter(pk=applicant.pk).exists():
        raise NotARepresentative(_("You can only apply for an organisation you represent."))
    # The prefill is worked out before anything is written, so the group is inserted once,
    # already filled; its response shows the same known values again (kept on the group).
    form = merged_form(ordered_versions(versions, life_event))
    known = known_values(user=applicant, keys=[spec.key for spec in form.fields], organisation=organisation)
    data = prefill_values(user=applicant, form=form, known=known)
    with transaction.atomic():
        group = ApplicationGroup.objects.create(
            applicant=applicant,
            life_event=life_event,
            organisation=organisation,
            data=data,
            field_revisions=dict.fromkeys(data, 0),
        )
        # A new group has no pinned versions yet: insert them (versions.set would read them first).
        pinned = ApplicationGroup.versions.through
        pinned.objects.bulk_create([pinned(applicationgroup=group, serviceversion=version) for version in versions])
        group_load_new(group, versions=versions)
        group_known_values_keep(group, known)
    return group


# --- Saving answers -----------------------------------------------------------------------


@dataclass
class DraftSaveResult:
    group: ApplicationGroup
    saved: list[str] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    # {key: the value saved meanwhile by another tab}; the applicant's value was not saved.
    conflicts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.conflicts


def _same(element, left: Any, right: Any) -> bool:
    """Whether two raw inputs mean the same value for an element (so the tab did not change it)."""
    try:
        return validate_value(element, left) == validate_value(element, right)
    except ValidationError:
        return str(left if left is not None else "").strip() == str(right if right is not None else "").strip()


def _touch(group: ApplicationGroup) -> list[str]:
    # Any activity restarts the purge clock (updated_at) and withdraws a sent reminder.
    group.purge_reminder_sent_at = None
    return ["purge_reminder_sent_at", "updated_at"]


def _lock_draft(*, applicant: User, group_id: int | str) -> ApplicationGroup:
    group = group_for_user(user=applicant, group_id=group_id, for_update=True)
    if not group.is_draft:
        raise DraftAlreadySubmitted(_("This application has already been submitted and can no longer be changed."))
    return group


def draft_save(
    *,
    applicant: User,
    group_id: int | str,
    values: Mapping[str, Any],
    base_revision: int | None = None,
    base_values: Mapping[str, Any] | None = None,
) -> DraftSaveResult:
    """Validates and saves answers, field by field.

    `values` are raw inputs keyed by element key. `base_revision` is the revision the client
    loaded; with `base_values` (what the client was shown) only the fields the client
    actually changed are written. A field that another save changed after `base_revision`
    and that this client changed too is a conflict: it is not overwritten, and the result
    says which value is stored now. Invalid values are not stored; their errors are returned
    (the caller shows the typed text again). Everything valid is saved even when another
    field has an error, so nothing is lost.
    """
    with transaction.atomic():
        group = _lock_draft(applicant=applicant, group_id=group_id)
        form = group_form(group)
        result = DraftSaveResult(group=group)
        data = dict(group.data)
        revisions = dict(group.field_revisions)
        new_revision = group.revision + 1
        changed: dict[str, Any] = {}
        for key, raw in values.items():
            spec = form.field(key)
            if spec is None:
                result.errors[key] = [_("This question is not part of this application.")]
                continue
            if base_values is not None and key in base_values and _same(spec.element, raw, base_values[key]):
                continue  # not changed in this tab: leave whatever is stored (maybe another tab's value)
            try:
                value = validate_value(spec.element, raw)
            except ValidationError as error:
                result.errors[key] = list(error.messages)
                continue
            if value == data.get(key):
                continue
            if base_revision is not None and revisions.get(key, 0) > base_revision:
                result.conflicts[key] = data.get(key)
                continue
            changed[key] = value
        for key, value in changed.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
            revisions[key] = new_revision
        update_fields = _touch(group)
        if changed:
            verified = group_verified_values(group, form)  # every key of the form: the response shows them too
            flagged = [key for key in group.changed_verified if key not in changed]
            flagged += [key for key in changed if key in verified and data.get(key) != verified[key]]
            group.data, group.field_revisions, group.changed_verified = data, revisions, sorted(set(flagged))
            group.revision = new_revision
            update_fields += ["data", "field_revisions", "changed_verified", "revision"]
            result.saved = list(changed)
        group.save(update_fields=update_fields)
    return result


# --- Documents ----------------------------------------------------------------------------


def _material_type(form: MergedForm, document_type: DocumentType | str) -> DocumentType:
    """The document type among the form's materials, given as a row or by its code."""
    for material in form.materials:
        if isinstance(document_type, str):
            if material.document_type.code == document_type:
                return material.document_type
        elif material.document_type.pk == document_type.pk:
            return material.document_type
    raise Http404  # not a material of this application: nothing to attach it to


def draft_attach_document(
    *, applicant: User, group_id: int | str, document_type: DocumentType | str, document_id: int | str
) -> GroupDocument:
    """Attaches a document of the applicant's vault (by reference, never copied).

    `document_type` is a row or a code; either way it must be one of the draft's materials
    (Http404 otherwise), so a code needs no query of its own. Another person's document is
    Http404, as if it did not exist; a document of the wrong type, not yet scanned clean or
    out of validity is refused with a reason. The attachment's `group` is the draft as loaded
    under its lock, with its documents as they are now.
    """
    with transaction.atomic():
        group = _lock_draft(applicant=applicant, group_id=group_id)
        document_type = _material_type(group_form(group), document_type)
        # The usual case in one query: a document of the applicant usable today.
        document = reusable_documents(user=applicant, document_type=document_type).filter(pk=document_id).first()
        if document is None:
            document = document_for_user(user=applicant, document_id=document_id)  # Http404 if not theirs
            if document.document_type_id != document_type.pk:
                raise AttachRefused(_("This document is not a %(type)s.") % {"type": document_type.name})
            raise AttachRefused(_("This document is not valid today (or has not passed the virus scan yet)."))
        # Under the group's lock nobody else changes its attachments: update or insert, one statement.
        attachment = attachments_by_type(group).get(document_type.pk)
        if attachment is None:
            attachment = GroupDocument.objects.create(group=group, document_type=document_type, document=document)
        else:
            attachment.document = document
            attachment.save(update_fields=["document", "attached_at"])
        attachment.group = group
        group.save(update_fields=_touch(group))
        group_documents_replace(group, attachment)
    return attachment


def draft_upload_document(
    *,
    applicant: User,
    group_id: int | str,
    document_type: DocumentType,
    uploaded_file: UploadedFile,
    source: str = Document.Source.UPLOADED,
) -> GroupDocument:
    """Stores a new upload in the applicant's vault and attaches it to the draft.

    The draft is checked first, so nothing lands in the vault for a draft that is not the
    applicant's. documents.validation.UploadRejected passes through with its message.
    """
    group = group_for_user(user=applicant, group_id=group_id)
    if not group.is_draft:
        raise DraftAlreadySubmitted(_("This application has already been submitted and can no longer be changed."))
    _material_type(group_form(group), document_type)
    # A document for an organisation's application goes into the organisation's vault.
    document = document_upload(
        owner=applicant,
        document_type=document_type,
        uploaded_file=uploaded_file,
        source=source,
        organisation=group.organisation,
    )
    return draft_attach_document(
        applicant=applicant, group_id=group.pk, document_type=document_type, document_id=document.pk
    )


def draft_detach_document(*, applicant: User, group_id: int | str, document_type: DocumentType) -> None:
    with transaction.atomic():
        group = _lock_draft(applicant=applicant, group_id=group_id)
        GroupDocument.objects.filter(group=group, document_type=document_type).delete()
        group.save(update_fields=_touch(group))
        group_documents_reload(group)


# --- Stale drafts -------------------------------------------------------------------------


def draft_move_to_current(*, applicant: User, group_id: int | str) -> ApplicationGroup:
    """Re-pins the draft to the services' current versions, keeping every answer and document.

    What the new version asks differently shows up in the missing list on the review page.
    """
    with transaction.atomic():
        group = _lock_draft(applicant=applicant, group_id=group_id)
        versions = []
        for version in group.versions.all():
            if version.status == ServiceVersion.Status.PUBLISHED:
                versions.append(version)
                continue
            current = current_version(version.service)
            if current is None:
                raise ServiceUnavailable(
                    _("%(service)s can no longer be applied for online.") % {"service": version.service.name}
                )
            versions.append(current)
        group.versions.set(versions)
        group.revision += 1
        group.save(update_fields=[*_touch(group), "revision"])
        return group_load_related(group)


# --- Submission ---------------------------------------------------------------------------


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


def _submitted_by_key(applicant: User, key: str, group_id: int | str) -> ApplicationGroup | None:
    existing = ApplicationGroup.objects.filter(applicant=applicant, idempotency_key=key).first()
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


def group_submit(*, applicant: User, group_id: int | str, idempotency_key: str) -> SubmitOutcome:
    """Submits a draft once: one Application per pinned version, numbered, pinned, `submitted`,
    and the engine's start recorded in the outbox in the same transaction.

    Idempotent: the same key, or a second submit of an already submitted draft (double
    click, network retry, two tabs), returns the group submitted the first time.
    Raises DraftStale, DraftIncomplete, IdempotencyKeyReused; Http404 for an outsider.
    """
    key = idempotency_key.strip()[:100]
    if not key:
        raise ValueError("an idempotency key is required")
    existing = _submitted_by_key(applicant, key, group_id)
    if existing is not None:
        return SubmitOutcome(existing, created=False, applications=_applications_of(existing))
    try:
        with transaction.atomic():
            group = group_for_user(user=applicant, group_id=group_id, for_update=True)
            if not group.is_draft:
                # Submitted meanwhile (the other click, the other tab): the same answer.
                return SubmitOutcome(group, created=False, applications=list(group.applications.all()))
            applications = _submit_locked(applicant=applicant, group=group, key=key)
    except IntegrityError:
        # The same key, submitted at the same moment for another draft of this applicant.
        existing = _submitted_by_key(applicant, key, group_id)
        if existing is None:
            raise
        return SubmitOutcome(existing, created=False, applications=_applications_of(existing))
    # What was loaded as a draft (no applications, maybe documents no longer needed) is not
    # kept: read again if asked.
    for name in ("applications", "documents"):
        getattr(group, "_prefetched_objects_cache", {}).pop(name, None)
    return SubmitOutcome(group, created=True, applications=sorted(applications, key=lambda a: a.number))


def _submit_locked(*, applicant: User, group: ApplicationGroup, key: str) -> list[Application]:
    stale = stale_versions(group)
    if stale:
        raise DraftStale(stale)
    form = group_form(group)
    attachments = attachments_by_type(group)
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
            actor=applicant,
            payload={"changed_verified": flagged} if flagged else {},
        )
    logger.info("submitted group=%s applications=%s", group.number, ",".join(a.number for a in applications))
    return applications


# --- Abandoned drafts ---------------------------------------------------------------------


@dataclass
class PurgeResult:
    reminded: int = 0
    purged: int = 0


def _reminder_mail(group: ApplicationGroup, purge_on: datetime.date) -> None:
    applicant = group.applicant
    if not applicant.email:
        return
    with override(applicant.preferred_language or settings.LANGUAGE_CODE):
        names = join_names(v.service.name for v in group.versions.all())
        what = str(group.life_event.name) if group.life_event else names
        link = settings.PUBLIC_BASE_URL.rstrip("/") + reverse("workflows:apply-resume", args=[group.pk])
        send_mail(
            subject=_("Your draft application will be deleted soon"),
            message=_(
                "Hello %(name)s,\n\nyou started an application for %(what)s and have not changed it for a while. "
                "Unless you continue it, it will be deleted on %(date)s. Continue it from My applications "
                "(%(link)s).\n\nOne Door"
            )
            % {"name": applicant.name, "what": what, "date": date_format(purge_on, "DATE_FORMAT"), "link": link},
            from_email=None,
            recipient_list=[applicant.email],
        )


def drafts_purge(*, now: datetime.datetime | None = None) -> PurgeResult:
    """Reminds applicants of drafts untouched for (purge − reminder) days, then deletes drafts
    untouched for DRAFT_PURGE_DAYS whose reminder went out at least DRAFT_REMINDER_DAYS ago.

    A reminder is claimed with a conditional update before the e-mail is sent, so two sweeps
    never send it twice. The vault documents a purged draft used stay in the vault.
    """
    now = now or timezone.now()
    purge_days, remind_days = settings.DRAFT_PURGE_DAYS, settings.DRAFT_REMINDER_DAYS
    result = PurgeResult()
    drafts = ApplicationGroup.objects.filter(submitted_at__isnull=True)
    due_for_reminder = drafts.filter(
        purge_reminder_sent_at__isnull=True, updated_at__lte=now - datetime.timedelta(days=purge_days - remind_days)
    )
    for group in due_for_reminder.select_related("applicant", "life_event").prefetch_related("versions__service"):
        # `update` leaves updated_at alone: a reminder is not activity.
        claimed = ApplicationGroup.objects.filter(
            pk=group.pk, purge_reminder_sent_at__isnull=True, submitted_at__isnull=True
        ).update(purge_reminder_sent_at=now)
        if claimed != 1:
            continue
        purge_on = timezone.localdate(
            max(group.updated_at + datetime.timedelta(days=purge_days), now + datetime.timedelta(days=remind_days))
        )
        try:
            _reminder_mail(group, purge_on)
        except Exception:  # the mail server may be down: send again next sweep
            logger.exception("draft reminder for group %s not sent", group.pk)
            ApplicationGroup.objects.filter(pk=group.pk).update(purge_reminder_sent_at=None)
            continue
        result.reminded += 1
    expired = drafts.filter(
        updated_at__lte=now - datetime.timedelta(days=purge_days),
        purge_reminder_sent_at__lte=now - datetime.timedelta(days=remind_days),
    )
    untouched_since = now - datetime.timedelta(days=purge_days)
    for group_id in expired.values_list("pk", flat=True):
        with transaction.atomic():
            expired_draft = (
                ApplicationGroup.objects.select_for_update(skip_locked=True)
                .filter(pk=group_id, submitted_at__isnull=True, updated_at__lte=untouched_since)
                .first()
            )
            if expired_draft is None:
                continue  # touched, submitted or being edited right now
            expired_draft.delete()
            result.purged += 1
    return result
