"""Writes on mandates: grant, accept, end. Each refuses with a sentence for the person who asked."""

import datetime
import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.people import verified_id_number, verified_person_find
from lib.refusals import Refused
from services.models import LifeEvent, Service
from workflows.models import Mandate, Notification
from workflows.notifications.notify import notify

logger = logging.getLogger(__name__)

LONGEST = datetime.timedelta(days=5 * 366)


class MandateRefused(Refused):
    pass


def mandate_grant(
    *,
    principal: User,
    delegate_login: str,
    delegate_resident_id: str,
    valid_from: datetime.date,
    valid_until: datetime.date,
    may_submit: bool,
    all_services: bool = False,
    services: Iterable[Service] = (),
    life_events: Iterable[LifeEvent] = (),
) -> Mandate:
    """The principal offers a mandate; it takes effect when the delegate accepts it."""
    services, life_events = list(services), list(life_events)
    today = timezone.localdate()
    if verified_id_number(principal) is None:
        raise MandateRefused(
            _("Only a person with a verified identity can give a mandate. Sign in with national eID first.")
        )
    delegate = verified_person_find(login=delegate_login, resident_id=delegate_resident_id)
    if delegate is not None and delegate.pk == principal.pk:
        raise MandateRefused(_("You cannot give a mandate to yourself."))
    if delegate is None:
        logger.info("mandate refused principal=%s reason=no-verified-delegate", principal.pk)
        raise MandateRefused(
            _(
                "We found no person with a verified identity with that e-mail address or log-in name and "
                "resident ID number. They must sign in with national eID, or have their identity checked at a "
                "counter, before they can act for you."
            )
        )
    if valid_until < valid_from:
        raise MandateRefused(_("The mandate must end on or after the day it starts."))
    if valid_until < today:
        raise MandateRefused(_("The mandate would already have ended. Choose an end date from today on."))
    if valid_until - valid_from > LONGEST:
        raise MandateRefused(_("A mandate can last at most five years."))
    if not all_services and not services and not life_events:
        raise MandateRefused(_("Choose every service, or at least one service or life event the mandate covers."))
    with transaction.atomic():
        # Serialises two grants of the same pair: the principal's row is the lock.
        User.objects.select_for_update().filter(pk=principal.pk).first()
        overlapping = Mandate.objects.filter(
            principal=principal,
            delegate=delegate,
            ended_at__isnull=True,
            valid_from__lte=valid_until,
            valid_until__gte=max(valid_from, today),
        ).exists()
        if overlapping:
            raise MandateRefused(
                _("%(name)s already has a mandate from you for this period. End it first, or choose other dates.")
                % {"name": delegate.name}
            )
        mandate = Mandate.objects.create(
            principal=principal,
            delegate=delegate,
            all_services=all_services,
            valid_from=valid_from,
            valid_until=valid_until,
            may_submit=may_submit,
        )
        if not all_services:
            mandate.services.set(services)
            mandate.life_events.set(life_events)
        # The delegate learns of it in their inbox (and by e-mail), where they accept it.
        notify(
            user=delegate,
            event=Notification.Event.MANDATE_OFFERED,
            context={"principal": principal.name, "may_submit": may_submit},
            link=reverse("workflows:mandate-list"),
            dedupe_key=f"mandate-offered:{mandate.pk}",
        )
    logger.info("mandate granted id=%s principal=%s delegate=%s", mandate.pk, principal.pk, delegate.pk)
    return mandate


def mandate_accept(*, delegate: User, mandate_id: int) -> Mandate:
    """The delegate accepts a mandate offered to them (once; refused when it was ended)."""
    with transaction.atomic():
        mandate = Mandate.objects.select_for_update().filter(pk=mandate_id, delegate=delegate).first()
        if mandate is None:
            raise MandateRefused(_("This mandate does not exist."))
        if mandate.ended_at is not None:
            raise MandateRefused(_("This mandate has been ended; it can no longer be accepted."))
        if mandate.valid_until < timezone.localdate():
            raise MandateRefused(_("This mandate has expired; it can no longer be accepted."))
        if mandate.accepted_at is None:
            mandate.accepted_at = timezone.now()
            mandate.save(update_fields=["accepted_at"])
    return mandate


def mandate_end(*, user: User, mandate_id: int) -> Mandate:
    """Either side ends a mandate; from then on the delegate reaches nothing of the principal's.
    Drafts the delegate prepared stay with the principal."""
    with transaction.atomic():
        mandate = (
            Mandate.objects.select_for_update()
            .filter(Q(principal=user) | Q(delegate=user), pk=mandate_id)
            .select_related("principal", "delegate")
            .first()
        )
        if mandate is None:
            raise MandateRefused(_("This mandate does not exist."))
        if mandate.ended_at is None:
            mandate.ended_at = timezone.now()
            mandate.ended_by = user
            mandate.save(update_fields=["ended_at", "ended_by"])
            logger.info("mandate ended id=%s by=%s", mandate.pk, user.pk)
    return mandate
