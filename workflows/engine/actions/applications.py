"""Starting, advancing and withdrawing an application."""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from workflows.engine import routing
from workflows.engine.guards import (
    refuse_if_finished,
    refuse_unless_acts_for,
)
from workflows.models import Application, ApplicationEvent
from workflows.outbox import outbox_confirm

# --- Starting and advancing ------------------------------------------------------------------


def application_start(*, application_id: int, outbox_id: int | None = None) -> Application:
    """Submitted → in progress, and the first steps open. A second call changes nothing."""
    with transaction.atomic():
        application = routing.application_lock(application_id)
        routing.application_begin_locked(application)
        # Confirmed in the same transaction: if this rolls back, the relay sends it again.
        outbox_confirm(outbox_id)
        return application


def advance(*, application_id: int) -> Application:
    """Opens every step that can open, skips the ones whose condition is false, and rejects or
    approves the application when that is due. Idempotent."""
    with transaction.atomic():
        application = routing.application_lock(application_id)
        routing.advance_locked(application)
        return application


# --- Applicants ------------------------------------------------------------------------------


def application_withdraw(*, application_id: int, applicant: User) -> Application:
    """The applicant withdraws before a decision: open work and timers are cancelled."""
    with transaction.atomic():
        application = routing.application_lock(application_id)
        refuse_unless_acts_for(applicant, application)
        refuse_if_finished(application)
        routing.application_finish(
            application,
            Application.Status.WITHDRAWN,
            kind=ApplicationEvent.Kind.APPLICATION_WITHDRAWN,
            actor=applicant,
            reason=_("Withdrawn by the applicant."),
        )
        return application
