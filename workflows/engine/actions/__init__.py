"""The engine's transitions (DESIGN §5), by entity: what clerks, supervisors, applicants and tasks
do to an application once it is submitted.

Each function is one transaction under `select_for_update` of the application. A refusal raises
`TransitionRefused` (a `lib.refusals.Refused`) with a message for the person who asked, and
changes nothing. Every state change writes exactly one `ApplicationEvent`.
"""

from workflows.engine.actions.applications import advance, application_start, application_withdraw
from workflows.engine.actions.corrections import (
    CorrectionOutcome,
    correction_answer,
    correction_request,
    correction_submit,
)
from workflows.engine.actions.incidents import incident_cancel, incident_retry, incident_skip
from workflows.engine.actions.payments import payment_step_paid, payment_step_waiting
from workflows.engine.actions.transfers import transfer_allowed, transfer_request_decide, work_item_transfer
from workflows.engine.actions.work_items import (
    BulkResult,
    work_item_assign,
    work_item_claim,
    work_item_decide,
    work_item_release,
    work_items_assign,
    work_items_claim,
)
from workflows.engine.errors import TransitionRefused
from workflows.engine.guards import acts_for
from workflows.engine.selectors import application_route_state

__all__ = [
    "BulkResult",
    "CorrectionOutcome",
    "TransitionRefused",
    "acts_for",
    "advance",
    "application_route_state",
    "application_start",
    "application_withdraw",
    "correction_answer",
    "correction_request",
    "correction_submit",
    "incident_cancel",
    "incident_retry",
    "incident_skip",
    "payment_step_paid",
    "payment_step_waiting",
    "transfer_allowed",
    "transfer_request_decide",
    "work_item_assign",
    "work_item_claim",
    "work_item_decide",
    "work_item_release",
    "work_item_transfer",
    "work_items_assign",
    "work_items_claim",
]
