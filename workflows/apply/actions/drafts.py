"""Working on a draft: starting it (prefilled), saving answers (conflicts kept apart), attaching and
uploading documents, and moving a stale draft to the service's current version."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from documents.actions import document_upload
from documents.models import Document
from documents.selectors import document_for_user, reusable_document
from services.elements import validate_value
from services.models import DocumentType, LifeEvent, Service, ServiceVersion
from services.selectors import current_version, life_event_versions
from workflows.apply.actions.identity import bound_problem
from workflows.apply.actions.refusals import (
    AttachRefused,
    DraftAlreadySubmitted,
    NotARepresentative,
    ServiceUnavailable,
)
from workflows.apply.selectors import (
    MergedForm,
    attachments_by_type,
    given_values,
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
    ordered_versions,
    prefill_values,
)
from workflows.models import ApplicationGroup, GroupDocument, Mandate

# --- Starting a draft ---------------------------------------------------------------------


def draft_start(
    *,
    applicant: User,
    service: Service | None = None,
    life_event: LifeEvent | None = None,
    organisation: Organisation | None = None,
    mandate: Mandate | None = None,
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
            mandate=mandate,
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
            # Read once per save, and only when an answer changes (the response shows them too).
            problem = bound_problem(spec, value, group_verified_values(group, form))
            if problem is not None:
                result.errors[key] = [problem]
                continue
            if base_revision is not None and revisions.get(key, 0) > base_revision:
                result.conflicts[key] = data.get(key)
                continue
            changed[key] = value
        if changed and (form.roles or any(spec.derived_from for spec in form.fields)):
            _given_apply(group, form, data, changed, result)
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


def _given_apply(
    group: ApplicationGroup, form: MergedForm, data: dict[str, Any], changed: dict[str, Any], result: DraftSaveResult
) -> None:
    """Adds to `changed` what the new answers give (services/roles.py): the verified values of a
    role the applicant now holds, values worked out from another answer. A typed value that
    contradicts a role's verified value is refused at that field, as for identity elements."""
    after = {**data, **{key: value for key, value in changed.items() if value is not None}}
    for key in [key for key, value in changed.items() if value is None]:
        after.pop(key, None)
    given = given_values(form=form, data=after, verified=group_verified_values(group, form))
    for key, reuse in given.items():
        spec = form.field(key)
        if key in changed and changed[key] != reuse.value and spec is not None and reuse.is_verified:
            result.errors[key] = [
                _("%(label)s comes from your verified details, since you said who this person is.")
                % {"label": spec.element.label}
            ]
            changed.pop(key)
        if data.get(key) != reuse.value:
            changed[key] = reuse.value


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
        document = reusable_document(user=applicant, document_type=document_type, document_id=document_id)
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
