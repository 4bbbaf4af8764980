"""The route diagram: a server-rendered SVG of a route's steps (no JavaScript).

Columns follow dependency depth, so steps that run in parallel sit side by side in one column;
each box names the step, its department and kind; arrows show "after"; a conditional step is
dashed and says when it runs. With `states` each box is coloured and labelled with its state,
so the same picture serves the administrator, the citizen ("who handles this") and the clerk.

Accessible: the SVG has role="img" with a <title> and <desc>, and a text list follows it.
Colours use presentation attributes, not style, so the strict CSP allows them.
"""

from collections.abc import Iterable, Mapping
from html import escape

from django.utils.crypto import get_random_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.models import Department
from lib.text import join_names
from services.explain import condition_keys, describe_condition, element_labels
from services.routes import RouteStep, step_depths

BOX_WIDTH = 224
BOX_HEIGHT = 64
CONDITION_HEIGHT = 54
STATE_HEIGHT = 18
COLUMN_GAP = 56
ROW_GAP = 22
MARGIN = 12
MIN_WIDTH = 760  # small routes are not blown up by the page's width: 100%

INK = "#0b0c0c"
# state → (fill, border)
STATE_COLOURS = {
    None: ("#f3f2f1", "#505a5f"),
    "waiting": ("#f3f2f1", "#505a5f"),
    "open": ("#d2e2f1", "#1d70b8"),
    "claimed": ("#fff2b3", "#8a6d00"),
    "awaiting_applicant": ("#fff2b3", "#8a6d00"),
    "done": ("#cce2d8", "#00703c"),
    "approved": ("#cce2d8", "#00703c"),
    "skipped": ("#ffffff", "#505a5f"),
    "cancelled": ("#e8e8e8", "#505a5f"),
    "failed": ("#f4cdc6", "#d4351c"),
    "rejected": ("#f4cdc6", "#d4351c"),
}


def kind_label(kind: str) -> str:
    return {
        "review": _("Reviewed by a clerk"),
        "automatic": _("Automatic check"),
        "issue": _("Certificate issued"),
    }.get(kind, kind)


def state_label(state: str) -> str:
    return {
        "pending": _("Not started yet"),
        "waiting": _("Waiting"),
        "open": _("Open"),
        "claimed": _("Being handled"),
        "awaiting_applicant": _("Waiting for the applicant"),
        "done": _("Done"),
        "approved": _("Approved"),
        "skipped": _("Not needed"),
        "cancelled": _("Cancelled"),
        "failed": _("Failed"),
        "rejected": _("Rejected"),
    }.get(state, state.replace("_", " "))


def _fit(text: str, width_units: int) -> str:
    """Cuts text to about `width_units` (a CJK character counts double) with an ellipsis."""
    used = 0
    for index, character in enumerate(text):
        used += 2 if ord(character) > 0x2E80 else 1
        if used > width_units:
            return text[: max(index - 1, 1)] + "…"
    return text


def _wrap(text: str, width_units: int, lines: int) -> list[str]:
    """Splits text into at most `lines` lines of about `width_units`; the last one may end in an ellipsis."""
    result: list[str] = []
    rest = text
    while rest and len(result) < lines - 1:
        fitted = _fit(rest, width_units)
        if not fitted.endswith("…"):
            break
        cut = len(fitted) - 1
        space = rest.rfind(" ", 0, cut + 1)
        if space > cut // 2:
            cut = space
        result.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        result.append(_fit(rest, width_units))
    return result


def _department_names(codes: set[str]) -> dict[str, str]:
    return {department.code: department.name for department in Department.objects.filter(code__in=codes)}


def route_svg(
    steps: Iterable[RouteStep],
    states: Mapping[str, str] | None = None,
    *,
    title: str | None = None,
    departments: Mapping[str, str] | None = None,
) -> SafeString:
    """A <figure> holding the SVG diagram and its text alternative (an ordered list of steps).

    `states` maps step keys to waiting/open/claimed/done/skipped/cancelled/failed (others are
    shown as written). `departments` (code → name) saves a query when the caller has them.
    """
    steps = list(steps)
    states = states or {}
    title = title or _("Who handles this, step by step")
    if not steps:
        return mark_safe(f'<p class="govuk-body">{escape(_("No route has been set yet."))}</p>')  # noqa: S308
    names = dict(departments) if departments is not None else _department_names({s.department for s in steps})
    elements = element_labels(condition_keys([step.when for step in steps]))
    conditions = {step.key: describe_condition(step.when, elements) for step in steps if step.when}

    depths = step_depths(steps)
    last = max(depths.values(), default=-1) + 1
    columns: dict[int, list[RouteStep]] = {}
    for step in steps:
        columns.setdefault(depths.get(step.key, last), []).append(step)

    extra = (CONDITION_HEIGHT if conditions else 0) + (STATE_HEIGHT if states else 0)
    box_height = BOX_HEIGHT + extra
    tallest = max(len(column) for column in columns.values())
    natural_width = MARGIN * 2 + len(columns) * BOX_WIDTH + (len(columns) - 1) * COLUMN_GAP
    width = max(natural_width, MIN_WIDTH)
    height = MARGIN * 2 + tallest * box_height + (tallest - 1) * ROW_GAP

    positions: dict[str, tuple[int, int]] = {}
    for column_index, column_number in enumerate(sorted(columns)):
        column = columns[column_number]
        column_height = len(column) * box_height + (len(column) - 1) * ROW_GAP
        top = MARGIN + (height - 2 * MARGIN - column_height) // 2
        for row, step in enumerate(column):
            positions[step.key] = (
                MARGIN + column_index * (BOX_WIDTH + COLUMN_GAP),
                top + row * (box_height + ROW_GAP),
            )

    uid = get_random_string(8, "abcdefghijklmnopqrstuvwxyz")
    parts = [
        f'<svg class="od-route" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="route-{uid}-title route-{uid}-desc" focusable="false">',
        f'<title id="route-{uid}-title">{escape(title)}</title>',
        f'<desc id="route-{uid}-desc">{escape(_("The steps are listed below the diagram."))}</desc>',
        f'<defs><marker id="route-{uid}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        f'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{INK}"/></marker></defs>',
    ]
    for step in steps:
        for parent in step.after:
            if parent not in positions or step.key not in positions:
                continue
            x1, y1 = positions[parent]
            x2, y2 = positions[step.key]
            start_x, start_y = x1 + BOX_WIDTH, y1 + box_height // 2
            end_x, end_y = x2 - 2, y2 + box_height // 2
            if end_x <= start_x:  # a cycle or a step drawn in the leftover column: straight line
                path = f"M{start_x},{start_y} L{end_x},{end_y}"
            else:
                middle = (start_x + end_x) // 2
                path = f"M{start_x},{start_y} C{middle},{start_y} {middle},{end_y} {end_x},{end_y}"
            dash = ' stroke-dasharray="5 4"' if step.when else ""
            parts.append(
                f'<path d="{path}" fill="none" stroke="{INK}" stroke-width="1.5"{dash} '
                f'marker-end="url(#route-{uid}-arrow)"/>'
            )
    for step in steps:
        x, y = positions[step.key]
        state = states.get(step.key)
        fill, border = STATE_COLOURS.get(state, STATE_COLOURS[None])
        dash = ' stroke-dasharray="6 4"' if step.when or state == "skipped" else ""
        department = names.get(step.department, step.department)
        tooltip = f"{step.label} — {department} — {kind_label(step.kind)}"
        if step.key in conditions:
            tooltip += " — " + _("only when %(condition)s") % {"condition": conditions[step.key]}
        if state:
            tooltip += " — " + state_label(state)
        parts.append(f'<g data-step="{escape(step.key)}"' + (f' data-state="{escape(state)}"' if state else "") + ">")
        parts.append(f"<title>{escape(tooltip)}</title>")
        parts.append(
            f'<rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{box_height}" rx="6" fill="{fill}" '
            f'stroke="{border}" stroke-width="2"{dash}/>'
        )
        line_y = y + 20
        parts.append(
            f'<text x="{x + 10}" y="{line_y}" fill="{INK}" font-size="13" font-weight="700">'
            f"{escape(_fit(step.label, 25))}</text>"
        )
        line_y += 18
        parts.append(
            f'<text x="{x + 10}" y="{line_y}" fill="{INK}" font-size="13">{escape(_fit(department, 28))}</text>'
        )
        line_y += 18
        parts.append(
            f'<text x="{x + 10}" y="{line_y}" fill="{INK}" font-size="13" font-style="italic">'
            f"{escape(_fit(kind_label(step.kind), 28))}</text>"
        )
        if step.key in conditions:
            text = _("Only when %(condition)s") % {"condition": conditions[step.key]}
            for line in _wrap(text, 29, 3):
                line_y += 18
                parts.append(f'<text x="{x + 10}" y="{line_y}" fill="{INK}" font-size="13">{escape(line)}</text>')
            line_y = y + 56 + CONDITION_HEIGHT
        elif conditions:
            line_y += CONDITION_HEIGHT
        if state:
            line_y += STATE_HEIGHT
            parts.append(
                f'<text x="{x + 10}" y="{line_y}" fill="{INK}" font-size="13" font-weight="700">'
                f"{escape(state_label(state))}</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")

    # The text alternative: every step in order, with what it waits for and when it applies.
    labels = {step.key: step.label for step in steps}
    ordered = sorted(steps, key=lambda step: (depths.get(step.key, last), steps.index(step)))
    items = []
    for step in ordered:
        facts = [escape(names.get(step.department, step.department)), escape(kind_label(step.kind))]
        if step.after:
            after = join_names(labels.get(key, key) for key in step.after)
            facts.append(escape(_("after: %(steps)s") % {"steps": after}))
        else:
            facts.append(escape(_("starts straight away")))
        if step.key in conditions:
            facts.append(escape(_("only when %(condition)s") % {"condition": conditions[step.key]}))
        if step.sla_days:
            facts.append(escape(_("within %(days)d working days") % {"days": step.sla_days}))
        state = states.get(step.key)
        status = f' <strong class="govuk-tag govuk-tag--grey">{escape(state_label(state))}</strong>' if state else ""
        items.append(f"<li><strong>{escape(step.label)}</strong>{status}: {'; '.join(facts)}</li>")
    summary = escape(_("The steps as a list"))
    alternative = (
        f'<details class="govuk-details"><summary class="govuk-details__summary">'
        f'<span class="govuk-details__summary-text">{summary}</span></summary>'
        f'<div class="govuk-details__text"><ol class="govuk-list govuk-list--number">{"".join(items)}</ol></div>'
        f"</details>"
    )
    figure = f'<figure class="od-route-figure">{"".join(parts)}{alternative}</figure>'
    return mark_safe(figure)  # noqa: S308 - every interpolated value above is escaped
