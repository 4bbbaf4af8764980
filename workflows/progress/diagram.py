"""The route picture on the applicant's pages: each department step coloured by its state.

The catalogue's diagram (services.diagram.route_svg) draws it; `route_picture` below is a
simple chain used when a route cannot be parsed.

Server-rendered SVG (no script; the CSP forbids inline script and style attributes, so
colours are SVG presentation attributes). The step list next to the picture carries the
same facts as text for screen readers.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from services.diagram import route_svg
from services.routes import RouteError, parse_route
from workflows.models import Application
from workflows.progress.selectors import StepClock, StepState

FILL = {
    StepState.NOT_STARTED: ("#f3f2f1", "#505a5f"),
    StepState.QUEUED: ("#d2e2f1", "#0b0c0c"),
    StepState.IN_PROGRESS: ("#d2e2f1", "#0b0c0c"),
    StepState.WAITING_FOR_YOU: ("#fff7bf", "#0b0c0c"),
    StepState.DELAYED: ("#fcd6c3", "#0b0c0c"),
    StepState.DONE: ("#cce2d8", "#0b0c0c"),
    StepState.REJECTED: ("#f6d7d2", "#0b0c0c"),
    StepState.NOT_NEEDED: ("#f3f2f1", "#505a5f"),
    StepState.CANCELLED: ("#f3f2f1", "#505a5f"),
}
BOX_W, BOX_H, GAP = 150, 64, 28


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def route_picture(steps: list[StepClock]) -> SafeString:
    if not steps:
        return mark_safe("")
    width = len(steps) * BOX_W + (len(steps) - 1) * GAP + 4
    height = BOX_H + 4
    summary = "; ".join(f"{s.label}: {s.state_label}" for s in steps)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="od-route" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(_("Route") + ": " + summary)}">'
    ]
    for index, step in enumerate(steps):
        x = 2 + index * (BOX_W + GAP)
        fill, ink = FILL.get(step.state, FILL[StepState.NOT_STARTED])
        if index:
            y = 2 + BOX_H // 2
            parts.append(f'<line x1="{x - GAP}" y1="{y}" x2="{x - 4}" y2="{y}" stroke="#505a5f" stroke-width="2"/>')
            parts.append(f'<polygon points="{x - 4},{y - 5} {x},{y} {x - 4},{y + 5}" fill="#505a5f"/>')
        dash = ' stroke-dasharray="4 3"' if step.state in (StepState.NOT_NEEDED, StepState.CANCELLED) else ""
        parts.append(
            f'<rect x="{x}" y="2" width="{BOX_W}" height="{BOX_H}" rx="4" fill="{fill}" stroke="#0b0c0c"'
            f' stroke-width="1"{dash}/>'
        )
        department = step.department.name if step.department else ""
        parts.append(
            f'<text x="{x + 8}" y="22" font-size="13" font-weight="700" fill="{ink}">'
            f"{escape(_clip(step.label, 20))}</text>"
        )
        parts.append(f'<text x="{x + 8}" y="40" font-size="11" fill="{ink}">{escape(_clip(department, 24))}</text>')
        parts.append(
            f'<text x="{x + 8}" y="57" font-size="11" fill="{ink}">{escape(_clip(step.state_label, 24))}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above


# Our applicant-facing states in the catalogue diagram's vocabulary.
DIAGRAM_STATE = {
    StepState.NOT_STARTED: "waiting",
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
    """The catalogue's route diagram (parallel steps side by side) coloured by our step states;
    our simple chain when the route cannot be read."""
    try:
        route_steps = parse_route(application.service_version.route)
    except RouteError:
        return route_picture(steps)
    departments = {s.department.code: s.department.name for s in steps if s.department}
    return route_svg(
        route_steps,
        {s.key: DIAGRAM_STATE.get(s.state, s.state) for s in steps},
        title=_("The route of application %(number)s") % {"number": application.number},
        departments=departments if len(departments) == len({s.department for s in route_steps}) else None,
    )
