"""Which account a national eID sign-in opens, and what it tells us about the person.

In order: the account already linked to the eID person (`iss`, `sub`); else the account whose
verified resident ID is theirs; else the signed-in account, when it has no verified identity yet
(a self-registered person stepping up); else a new account for them.

Refused, changing nothing: a signed-in account verified as another person, and an eID person
whose resident ID is already the verified identity of another account than the signed-in one.
"""

import re
import uuid

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions import verified_attribute_set
from accounts.eid.client import EidPerson, EidRefused
from accounts.models import EidIdentity, User, VerifiedAttribute

RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
ID_NUMBER_KEY = "person.id_number"
FULL_NAME_KEY = "person.full_name"


def _verified_resident_id(user: User) -> str:
    found = VerifiedAttribute.objects.filter(user=user, element_key=ID_NUMBER_KEY).values_list("value", flat=True)
    return str(next(iter(found), "") or "")


def _holder_of(resident_id: str) -> User | None:
    """The account whose verified identity (or recorded resident ID) is `resident_id`."""
    verified = VerifiedAttribute.objects.filter(element_key=ID_NUMBER_KEY, value=resident_id).values("user_id")
    return User.objects.filter(Q(pk__in=verified) | Q(resident_id=resident_id)).order_by("pk").first()


@transaction.atomic
def eid_identity_sign_in(*, person: EidPerson, signed_in: User | None) -> User:
    """The account `person` signs in to, linked and with their verified identity recorded."""
    if not RESIDENT_ID.match(person.resident_id):
        raise EidRefused(
            _("The national eID gave a resident ID number One Door cannot read."), reason="malformed resident ID"
        )
    link = EidIdentity.objects.select_related("user").filter(issuer=person.issuer, subject=person.subject).first()
    account = link.user if link else _holder_of(person.resident_id)

    if signed_in is not None:
        own = _verified_resident_id(signed_in) or signed_in.resident_id
        if own and own != person.resident_id:
            raise EidRefused(
                _(
                    "You are signed in to an account verified as another person. "
                    "Sign out first, then sign in with your national eID."
                ),
                reason=f"signed-in account {signed_in.pk} is verified as another person",
            )
        if account is not None and account.pk != signed_in.pk:
            raise EidRefused(
                _(
                    "This national eID is already the verified identity of another One Door account. "
                    "Sign out, then sign in with your national eID to use that account."
                ),
                reason=f"resident ID belongs to account {account.pk}, signed in as {signed_in.pk}",
            )
        account = signed_in

    if account is None:
        account = User.objects.create(username=f"eid.{uuid.uuid4().hex[:16]}", display_name=person.full_name)
        account.set_unusable_password()
        account.save(update_fields=["password"])
    elif not account.is_active:
        raise EidRefused(_("This account has been suspended."), reason=f"account {account.pk} is inactive")
    elif (verified := _verified_resident_id(account)) and verified != person.resident_id:
        raise EidRefused(
            _("This national eID is linked to an account verified as another person."),
            reason=f"account {account.pk} linked to the eID is verified as another person",
        )

    now = timezone.now()
    EidIdentity.objects.update_or_create(
        issuer=person.issuer, subject=person.subject, defaults={"user": account, "last_used_at": now}
    )
    reference = f"eid {person.subject}"[:100]
    for key, value in ((FULL_NAME_KEY, person.full_name), (ID_NUMBER_KEY, person.resident_id)):
        verified_attribute_set(
            user=account, element_key=key, value=value, source=VerifiedAttribute.Source.EID, source_reference=reference
        )
    fields = []
    if account.resident_id != person.resident_id:
        account.resident_id = person.resident_id
        fields.append("resident_id")
    if not account.display_name:
        account.display_name = person.full_name
        fields.append("display_name")
    if fields:
        account.save(update_fields=fields)
    return account
