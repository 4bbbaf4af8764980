"""What the counter offers a walk-in person, and the counter clerk's drafts."""

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User
from accounts.selectors import (
    COUNTER_ROLES,
    has_role,
)
from services.models import LifeEvent, Service
from services.selectors import life_events, published_services
from workflows.models import (
    ApplicationGroup,
)
from workflows.workbench.selectors.queue import departments_for


def counter_services() -> QuerySet[Service]:
    """Services a visitor can apply for at the counter (published, offered at the counter)."""
    return published_services().filter(at_counter=True)


def counter_life_events() -> list[LifeEvent]:
    """Life events a visitor can apply for at the counter: at least one of their services can be
    applied for, and every one that can is offered at the counter (filing the event files them all)."""
    published = {service.pk: service for service in published_services()}
    offered = []
    for life_event in life_events():
        services = [published[entry.service_id] for entry in life_event.entries.all() if entry.service_id in published]
        if services and all(service.at_counter for service in services):
            offered.append(life_event)
    return offered


def counter_department_id(*, clerk: User) -> int | None:
    """The department the clerk serves the counter for (the first by code when several)."""
    return departments_for(user=clerk, roles=COUNTER_ROLES).order_by("code").values_list("pk", flat=True).first()


def counter_draft(*, clerk: User, group_id: int) -> ApplicationGroup:
    """A group this clerk filed at the counter (draft or submitted); 404 for anyone else's."""
    group = (
        ApplicationGroup.objects.filter(pk=group_id, filed_by_id=clerk.pk)
        .select_related("applicant", "filed_by", "life_event", "organisation")
        .first()
    )
    if group is None or not has_role(clerk, COUNTER_ROLES):
        raise Http404
    return group
