"""Reads of mandates, scoped to the person asking: the ones they gave and the ones they received."""

from django.db.models import Q, QuerySet

from accounts.models import User
from workflows.models import Mandate


def mandates_given(*, user: User) -> QuerySet[Mandate]:
    return (
        Mandate.objects.filter(principal=user)
        .select_related("delegate", "ended_by")
        .prefetch_related("services", "life_events")
    )


def mandates_received(*, user: User) -> QuerySet[Mandate]:
    return (
        Mandate.objects.filter(delegate=user)
        .select_related("principal", "ended_by")
        .prefetch_related("services", "life_events")
    )


def mandate_for(*, user: User, mandate_id: int) -> Mandate:
    """A mandate `user` gave or received; Mandate.DoesNotExist for anyone else."""
    return (
        Mandate.objects.filter(Q(principal=user) | Q(delegate=user), pk=mandate_id)
        .select_related("principal", "delegate", "ended_by")
        .prefetch_related("services", "life_events")
        .get()
    )
