"""The route picture on the applicant's pages: each department step coloured by its state.

The catalogue's diagram (services.diagram.route_svg) draws it, with the applicant's step
states translated into the diagram's vocabulary. Published routes are validated, so they
always parse.
"""

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from services.diagram import route_svg
from services.routes import parse_route
from workflows.models import Application
from workflows.progress.selectors import StepClock, StepState

# Our applicant-facing states in the catalogue diagram's vocabulary.
DIAGRAM_STATE = {
    StepState.NOT_STARTED: "waiting",
    StepState.WAITING_FOR_APPLICATION: "bundle_waiting",
    StepState.QUEUED: "open",
    StepState.IN_PROGRESS: "claimed",
    StepState.WAITING_FOR_YOU: "awaiting_applicant",
    StepState.DELAYED: "failed",
    StepState.DONE: "done",
    StepState.REJECTED: "rejected",
    StepState.NOT_NEEDED: "skipped",
    StepState.CANCELLED: "cancelled",
}


def application_picture(application: Application, steps: list[StepClock]) -> SafeString:
    """The catalogue's route diagram (parallel steps side by side) coloured by our step states."""
    route_steps = parse_route(application.service_version.route)
    departments = {s.department.code: s.department.name for s in steps if s.department}
    return route_svg(
        route_steps,
        {s.key: DIAGRAM_STATE.get(s.state, s.state) for s in steps},
        title=_("The route of application %(number)s") % {"number": application.number},
        departments=departments if len(departments) == len({s.department for s in route_steps}) else None,
    )
