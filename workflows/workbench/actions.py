"""Writes of the department workbench that are not transitions: internal notes, the counter's
draft for a walk-in person, and the counter's in-person identity check.

Everything that changes a work item (claim, release, assign, decide, correction, transfer,
incidents) is the engine's (`workflows.engine.actions`); the workbench only calls it.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions import verified_attribute_set
from accounts.models import User, VerifiedAttribute
from accounts.selectors import COUNTER_ROLES, has_role
from accounts.staff import person_find
from services.elements import validate_value
from services.models import DataElement, LifeEvent, Service
from workflows.apply.actions import NotARepresentative, ServiceUnavailable, draft_start
from workflows.engine.errors import TransitionRefused
from workflows.models import ApplicationGroup, DataAccessRecord, Note, WorkItem
from workflows.workbench.selectors import counter_department_id, counter_life_events


def note_add(*, work_item: WorkItem, author: User, text: str) -> Note:
    """An internal note on the work item's application (never shown to the applicant)."""
    text = (text or "").strip()
    if not text:
        raise TransitionRefused(_("Write the note first."))
    with transaction.atomic():
        return Note.objects.create(
            application_id=work_item.application_id,
            work_item=work_item,
            department_id=work_item.department_id,
            author=author,
            text=text[:5000],
        )


# --- Counter filing ("one door") --------------------------------------------------------------


def counter_draft_start(
    *,
    clerk: User,
    resident_id: str,
    consent: bool,
    service: Service | None = None,
    life_event: LifeEvent | None = None,
    organisation_code: str = "",
) -> ApplicationGroup:
    """A counter clerk starts a draft on behalf of a walk-in person identified by resident ID,
    for one service or every service of a life event (one merged form, as online), for the
    person or for an organisation they represent (named by its unified social credit code).

    The draft belongs to that person (it appears in their account, with their verified data
    prefilled); the clerk and the moment consent was recorded are kept on it.
    """
    if not has_role(clerk, COUNTER_ROLES):
        raise TransitionRefused(_("Only counter staff can file on behalf of a visitor."))
    if not consent:
        raise TransitionRefused(_("Record the person's consent before filing for them."))
    resident_id = (resident_id or "").strip().upper()
    person = User.objects.filter(resident_id__iexact=resident_id, is_active=True).first() if resident_id else None
    if person is None:
        raise TransitionRefused(
            _("No account has this resident ID number. The person must register (or be registered) first.")
        )
    if person.pk == clerk.pk:
        raise TransitionRefused(_("You cannot file at the counter for yourself."))
    offered = (
        service is not None and service.at_counter
        if life_event is None
        else any(event.pk == life_event.pk for event in counter_life_events())
    )
    if not offered:
        raise ServiceUnavailable(_("This is not offered at the counter: the person can apply online."))
    organisation = None
    if organisation_code:
        organisation = person.organisations.filter(registration_number__iexact=organisation_code).first()
        if organisation is None:
            raise NotARepresentative(
                _("This person does not represent an organisation with that unified social credit code.")
            )
    with transaction.atomic():
        group = draft_start(applicant=person, service=service, life_event=life_event, organisation=organisation)
        group.filed_by = clerk
        group.consent_recorded_at = timezone.now()
        group.save(update_fields=["filed_by", "consent_recorded_at", "updated_at"])
        return group


def identity_check_at_counter(*, clerk: User, identifier: str, full_name: str, resident_id: str) -> User:
    """A counter clerk has seen a person's identity card: their name, resident ID and date of birth
    become their verified identity (so bound form fields come from it), and the person's access
    log says so. Refused for an ID another account holds, or an account verified as someone else."""
    if not has_role(clerk, COUNTER_ROLES):
        raise TransitionRefused(_("Only counter staff can check an identity card."))
    try:
        resident_id = validate_value(
            DataElement(key="person.id_number", kind=DataElement.Kind.RESIDENT_ID), resident_id
        )
    except ValidationError as error:
        raise TransitionRefused(" ".join(error.messages)) from error
    full_name = " ".join(full_name.split())
    with transaction.atomic():
        person = person_find(identifier)
        if person is None:
            raise TransitionRefused(_("No account uses “%(identifier)s”.") % {"identifier": identifier.strip()})
        person = User.objects.select_for_update().get(pk=person.pk)
        taken = User.objects.filter(resident_id=resident_id).exclude(pk=person.pk).exists() or (
            VerifiedAttribute.objects.filter(element_key="person.id_number", value=resident_id)
            .exclude(user=person)
            .exists()
        )
        if taken:
            raise TransitionRefused(_("This resident ID is already the verified identity of another account."))
        earlier = VerifiedAttribute.objects.filter(user=person, element_key="person.id_number").first()
        if earlier is not None and earlier.value != resident_id:
            raise TransitionRefused(_("This account is already verified as another person."))
        reference = f"counter clerk {clerk.pk}"
        for key, value in (("person.full_name", full_name), ("person.id_number", resident_id)):
            verified_attribute_set(
                user=person,
                element_key=key,
                value=value,
                source=VerifiedAttribute.Source.COUNTER,
                source_reference=reference,
            )
        person.resident_id = resident_id
        person.save(update_fields=["resident_id"])
        DataAccessRecord.objects.create(
            accessor=clerk,
            department_id=counter_department_id(clerk=clerk),
            applicant=person,
            what=DataAccessRecord.What.IDENTITY_CHECK,
        )
    return person
