"""Writes of the department workbench that are not transitions: internal notes, the counter's
draft for a walk-in person, and the counter's in-person identity check.

Everything that changes a work item (claim, release, assign, decide, correction, transfer,
incidents) is the engine's (`workflows.engine.actions`); the workbench only calls it.
"""

import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.actions import verified_attribute_set
from accounts.models import User, VerifiedAttribute
from accounts.selectors import COUNTER_ROLES, has_role
from accounts.staff import person_find
from services.elements import validate_value
from services.models import DataElement, LifeEvent, Service
from workflows.apply.actions import NotARepresentative, ServiceUnavailable, draft_start
from workflows.engine.errors import TransitionRefused
from workflows.models import ApplicationGroup, DataAccessRecord, Note, NotificationPreference, WorkItem
from workflows.workbench.selectors import counter_department_id, counter_life_events


class IdentityNotChecked(TransitionRefused):
    """A counter visit without a recorded in-person identity check: nothing may be filed."""


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


# The identity documents a counter clerk may check in person.
# Lazy: the list is built once, when the module loads, and shown in each page's language.
IDENTITY_DOCUMENTS = [
    ("resident_id_card", gettext_lazy("Resident identity card")),
    ("temporary_id_card", gettext_lazy("Temporary resident identity card")),
    ("passport", gettext_lazy("Passport")),
    ("residence_permit", gettext_lazy("Residence permit for Hong Kong, Macao or Taiwan residents")),
]


@dataclass(frozen=True)
class CounterIdentity:
    """What the clerk recorded of the identity document the person showed at this visit."""

    document: str
    number: str
    checked_in_person: bool


def _walk_in_record(*, clerk: User, resident_id: str, full_name: str) -> User:
    """The person record of a walk-in with no account: their identity as the clerk checked it,
    no password. Their first national eID sign-in finds it by resident ID and links it."""
    full_name = " ".join((full_name or "").split())
    if not full_name:
        raise TransitionRefused(
            _(
                "No account has this resident ID number. Enter the person's full name as on their identity "
                "document to file for them without an account."
            )
        )
    try:
        resident_id = validate_value(
            DataElement(key="person.id_number", kind=DataElement.Kind.RESIDENT_ID), resident_id
        )
    except ValidationError as error:
        raise TransitionRefused(" ".join(error.messages)) from error
    if VerifiedAttribute.objects.filter(element_key="person.id_number", value=resident_id).exists():
        raise TransitionRefused(_("This resident ID is already the verified identity of another account."))
    person = User.objects.create(
        username=f"walk-in.{uuid.uuid4().hex[:16]}", display_name=full_name, resident_id=resident_id
    )
    person.set_unusable_password()
    person.save(update_fields=["password"])
    reference = f"counter clerk {clerk.pk}"
    for key, value in (("person.full_name", full_name), ("person.id_number", resident_id)):
        verified_attribute_set(
            user=person,
            element_key=key,
            value=value,
            source=VerifiedAttribute.Source.COUNTER,
            source_reference=reference,
        )
    DataAccessRecord.objects.create(
        accessor=clerk,
        department_id=counter_department_id(clerk=clerk),
        applicant=person,
        what=DataAccessRecord.What.IDENTITY_CHECK,
    )
    return person


def counter_draft_start(
    *,
    clerk: User,
    resident_id: str,
    consent: bool,
    identity: CounterIdentity | None = None,
    service: Service | None = None,
    life_event: LifeEvent | None = None,
    organisation_code: str = "",
    full_name: str = "",
    phone: str = "",
) -> ApplicationGroup:
    """A counter clerk starts a draft on behalf of a walk-in person identified by resident ID,
    for one service or every service of a life event (one merged form, as online), for the
    person or for an organisation they represent (named by its unified social credit code).

    The clerk checks an identity document in person at every visit (`identity`): without that
    check nothing is filed. A person with no account gets a person record (no password) from
    that check and `full_name`; `phone` is where they are texted about the application.

    The draft belongs to that person (it appears in their account, with their verified data
    prefilled); the clerk, the identity check and the moment consent was recorded are kept on it.
    """
    if not has_role(clerk, COUNTER_ROLES):
        raise TransitionRefused(_("Only counter staff can file on behalf of a visitor."))
    if not consent:
        raise TransitionRefused(_("Record the person's consent before filing for them."))
    if identity is None or not identity.checked_in_person or not identity.document or not identity.number:
        raise IdentityNotChecked(
            _("Check the person's identity document in person and record it: without that check you cannot file.")
        )
    resident_id = (resident_id or "").strip().upper()
    if not resident_id:
        raise TransitionRefused(_("Enter the person's resident ID number."))
    offered = (
        service is not None and service.at_counter
        if life_event is None
        else any(event.pk == life_event.pk for event in counter_life_events())
    )
    if not offered:
        raise ServiceUnavailable(_("This is not offered at the counter: the person can apply online."))
    with transaction.atomic():
        person = User.objects.filter(resident_id__iexact=resident_id).order_by("pk").first()
        if person is None:
            person = _walk_in_record(clerk=clerk, resident_id=resident_id, full_name=full_name)
        elif not person.is_active:
            raise TransitionRefused(_("The account with this resident ID number is closed."))
        if person.pk == clerk.pk:
            raise TransitionRefused(_("You cannot file at the counter for yourself."))
        organisation = None
        if organisation_code:
            organisation = person.organisations.filter(registration_number__iexact=organisation_code).first()
            if organisation is None:
                raise NotARepresentative(
                    _("This person does not represent an organisation with that unified social credit code.")
                )
        if phone and person.last_login is None and not person.has_usable_password():
            # Someone who has never signed in follows the application by text message.
            NotificationPreference.objects.update_or_create(user=person, defaults={"sms": True, "phone": phone})
        group = draft_start(applicant=person, service=service, life_event=life_event, organisation=organisation)
        now = timezone.now()
        group.filed_by = clerk
        group.consent_recorded_at = now
        group.identity_document = identity.document
        group.identity_document_number = identity.number[:40]
        group.identity_checked_at = now
        group.save(
            update_fields=[
                "filed_by",
                "consent_recorded_at",
                "identity_document",
                "identity_document_number",
                "identity_checked_at",
                "updated_at",
            ]
        )
        return group


def counter_filing_allowed(*, group: ApplicationGroup) -> None:
    """Refuses to file a counter draft whose visit has no recorded in-person identity check."""
    if group.identity_checked_at is None:
        raise IdentityNotChecked(
            _("No identity check is recorded for this visit. Start again and check the person's identity document.")
        )


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
