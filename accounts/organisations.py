"""An organisation's legal representative manages its representatives themselves.

The business register names the legal representative by resident ID number
(`Organisation.legal_representative_id_number`); the person whose verified resident ID is that
number may add and remove the organisation's representatives (the people who apply for it and
follow its applications). Others get 404. Each change is logged on one line."""

import logging

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from accounts.people import verified_id_number, verified_person_find
from lib.refusals import Refused

logger = logging.getLogger(__name__)


class RepresentativeRefused(Refused):
    pass


def organisations_led_by(*, user: User) -> QuerySet[Organisation]:
    """The organisations whose legal representative `user` is (none without a verified identity)."""
    id_number = verified_id_number(user)
    if id_number is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(legal_representative_id_number__iexact=id_number).order_by("name")


def organisation_led_by(*, user: User, organisation_id: int) -> Organisation:
    """One organisation `user` leads; Http404 for anyone else."""
    organisation = organisations_led_by(user=user).filter(pk=organisation_id).first()
    if organisation is None:
        raise Http404
    return organisation


def representative_add(*, legal_representative: User, organisation_id: int, login: str, resident_id: str) -> User:
    organisation = organisation_led_by(user=legal_representative, organisation_id=organisation_id)
    person = verified_person_find(login=login, resident_id=resident_id)
    if person is None:
        raise RepresentativeRefused(
            _(
                "We found no person with a verified identity with that e-mail address or log-in name and "
                "resident ID number. They must sign in with national eID, or have their identity checked at a "
                "counter, before they can represent %(name)s."
            )
            % {"name": organisation.name}
        )
    with transaction.atomic():
        if organisation.representatives.filter(pk=person.pk).exists():
            raise RepresentativeRefused(
                _("%(person)s already represents %(name)s.") % {"person": person.name, "name": organisation.name}
            )
        organisation.representatives.add(person)
    logger.info(
        "representative added organisation=%s user=%s by=%s", organisation.pk, person.pk, legal_representative.pk
    )
    return person


def representative_remove(*, legal_representative: User, organisation_id: int, user_id: int) -> User:
    organisation = organisation_led_by(user=legal_representative, organisation_id=organisation_id)
    person = organisation.representatives.filter(pk=user_id).first()
    if person is None:
        raise Http404
    organisation.representatives.remove(person)
    logger.info(
        "representative removed organisation=%s user=%s by=%s", organisation.pk, person.pk, legal_representative.pk
    )
    return person
