"""Reads of proactive offers, scoped to the person they were made to (anybody else: Http404)."""

from dataclasses import dataclass

from django.http import Http404

from accounts.models import User
from services.elements import display_value
from workflows.apply.selectors import merged_form
from workflows.models import Application, Offer


def offer_for_person(*, person: User, offer_id: int) -> Offer:
    """The person's offer to show (never one that was not made); Http404 for anybody else."""
    offer = (
        Offer.objects.exclude(status=Offer.Status.NOT_MADE)
        .select_related("service", "version", "trigger_application__service", "group")
        .filter(pk=offer_id, person=person)
        .first()
    )
    if offer is None:
        raise Http404
    return offer


@dataclass(frozen=True)
class Answer:
    label: str
    value: str
    verified: bool  # from the verified identity (the rest came from earlier applications)


def offer_answers(offer: Offer) -> list[Answer]:
    """The prefilled answers as the form asks them, in its order, each as a person reads it."""
    if offer.version is None:
        return []
    form = merged_form([offer.version])
    return [
        Answer(spec.element.label, display_value(spec.element, offer.data[spec.key]), spec.element.bound)
        for spec in form.fields
        if spec.key in offer.data
    ]


def offer_applications(offer: Offer) -> list[Application]:
    """The applications accepting (or the grant) made, by number."""
    if offer.group_id is None:
        return []
    return list(Application.objects.filter(group_id=offer.group_id).select_related("service").order_by("number"))
