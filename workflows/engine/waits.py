"""Steps that wait for something outside the engine: an appointment booked and kept.

The app that owns such a step kind (appointments) registers a describer at start-up; the
applicant's progress page asks it what the step waits for (a booked time and place, or "book a
time"), so the engine and the pages never import that app. `waiting_step_complete` is how the
owning app tells the engine the wait is over.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from workflows.engine import routing
from workflows.engine.errors import TransitionRefused
from workflows.engine.guards import locked_items, refuse_if_finished
from workflows.models import ApplicationEvent, WorkItem


@dataclass(frozen=True)
class StepWait:
    """What a waiting step shows the applicant next to its clock."""

    summary: str
    action_url: str = ""
    action_label: str = ""
    # The applicant has to act (book a time): the step reads "waiting for you".
    applicant_acts: bool = False


Describer = Callable[[Sequence[WorkItem]], dict[int, StepWait]]
_describers: dict[str, Describer] = {}


def wait_describer_register(kind: str, describer: Describer) -> None:
    _describers[kind] = describer


def waits_describe(items: Sequence[WorkItem]) -> dict[int, StepWait]:
    """Work item id → what it waits for, for the live items of a registered kind (one call per kind)."""
    found: dict[int, StepWait] = {}
    for kind, describer in _describers.items():
        of_kind = [item for item in items if item.kind == kind and item.status in WorkItem.LIVE]
        if of_kind:
            found.update(describer(of_kind))
    return found


def waiting_step_complete(*, work_item_id: int, kind: str, actor: User | None, payload: dict) -> WorkItem:
    """The thing a waiting step waited for happened (an appointment was kept): the step is done
    and the route moves on, in the caller's transaction."""
    with transaction.atomic():
        application, item, current = locked_items(work_item_id)
        refuse_if_finished(application)
        if item.kind != kind or item.status != WorkItem.Status.OPEN:
            raise TransitionRefused(_("This step is no longer waiting, so it cannot be completed."))
        routing.timers_cancel(work_item=item)
        routing.item_set_status(
            item, WorkItem.Status.DONE, kind=ApplicationEvent.Kind.STEP_COMPLETED, actor=actor, payload=payload
        )
        routing.advance_locked(application, actor=actor, items=current)
        return item
