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
COLUMN_GAP = 56
ROW_GAP = 22
MARGIN = 12
LINE_HEIGHT = 18
# The stacked drawing, for narrow screens: about the width of a phone, so its 13-unit text is
# shown at about 13 px.
STACK_BOX_WIDTH = 300
STACK_UNITS = 40
STACK_GAP = 22
STACK_LANES = 4
STACK_LANE_WIDTH = 8

INK = "#0b0c0c"
# state → (fill, border)
STATE_COLOURS = {
    None: ("#f3f2f1", "#505a5f"),
    "waiting": ("#f3f2f1", "#505a5f"),
    "bundle_waiting": ("#f3f2f1", "#505a5f"),
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
        "bundle_waiting": _("Waiting for another application"),
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


def _box_lines(step: RouteStep, *, department: str, condition: str | None, state: str | None, units: int):
    """The lines of text in a step's box, as (text, weight, style), wrapped to `units` wide."""
    lines = [(line, "700", "") for line in _wrap(step.label, units, 2)]
    lines += [(line, "", "") for line in _wrap(department, units, 2)]
    lines.append((_fit(kind_label(step.kind), units), "", "italic"))
    if condition:
        text = _("Only when %(condition)s") % {"condition": condition}
        lines += [(line, "", "") for line in _wrap(text, units, 3)]
    if state:
        lines.append((_fit(state_label(state), units), "700", ""))
    return lines


def _svg(
    *,
    layout: str,
    steps: list[RouteStep],
    positions: Mapping[str, tuple[int, int]],
    box_width: int,
    box_heights: Mapping[str, int],
    width: int,
    height: int,
    lines: Mapping[str, list[tuple[str, str, str]]],
    tooltips: Mapping[str, str],
    states: Mapping[str, str],
    edge_paths: list[tuple[str, str]],
    title: str,
    css_class: str,
) -> str:
    uid = get_random_string(8, "abcdefghijklmnopqrstuvwxyz")
    parts = [
        f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="route-{uid}-title route-{uid}-desc" '
        f'focusable="false" data-layout="{layout}">',
        f'<title id="route-{uid}-title">{escape(title)}</title>',
        f'<desc id="route-{uid}-desc">{escape(_("The steps are listed below the diagram."))}</desc>',
        f'<defs><marker id="route-{uid}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        f'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{INK}"/></marker></defs>',
    ]
    by_key = {step.key: step for step in steps}
    for child, path in edge_paths:
        dash = ' stroke-dasharray="5 4"' if by_key[child].when else ""
        parts.append(
            f'<path d="{path}" fill="none" stroke="{INK}" stroke-width="1.5"{dash} '
            f'marker-end="url(#route-{uid}-arrow)"/>'
        )
    for step in steps:
        x, y = positions[step.key]
        state = states.get(step.key)
        fill, border = STATE_COLOURS.get(state, STATE_COLOURS[None])
        dash = ' stroke-dasharray="6 4"' if step.when or state == "skipped" else ""
        parts.append(f'<g data-step="{escape(step.key)}"' + (f' data-state="{escape(state)}"' if state else "") + ">")
        # The whole text of the box, for the lines cut short with an ellipsis.
        parts.append(f"<title>{escape(tooltips[step.key])}</title>")
        parts.append(
            f'<rect x="{x}" y="{y}" width="{box_width}" height="{box_heights[step.key]}" rx="6" fill="{fill}" '
            f'stroke="{border}" stroke-width="2"{dash}/>'
        )
        line_y = y + 8
        for text, weight, style in lines[step.key]:
            line_y += LINE_HEIGHT
            attributes = (f' font-weight="{weight}"' if weight else "") + (f' font-style="{style}"' if style else "")
            parts.append(
                f'<text x="{x + 10}" y="{line_y}" fill="{INK}" font-size="13"{attributes}>{escape(text)}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def route_svg(
    steps: Iterable[RouteStep],
    states: Mapping[str, str] | None = None,
    *,
    title: str | None = None,
    departments: Mapping[str, str] | None = None,
) -> SafeString:
    """A <figure> holding the SVG diagram and its text alternative (an ordered list of steps).

    Two drawings of the same route: in columns (steps that run in parallel side by side) and,
    for narrow containers, stacked one step under another at a readable size; the stylesheet
    shows the one that fits (container queries on `od-route-figure--cols-N`).

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

    tooltips: dict[str, str] = {}
    for step in steps:
        department = names.get(step.department, step.department)
        tooltip = f"{step.label} — {department} — {kind_label(step.kind)}"
        if step.key in conditions:
            tooltip += " — " + _("only when %(condition)s") % {"condition": conditions[step.key]}
        if states.get(step.key):
            tooltip += " — " + state_label(states[step.key])
        tooltips[step.key] = tooltip

    def all_lines(units: int) -> dict[str, list[tuple[str, str, str]]]:
        return {
            step.key: _box_lines(
                step,
                department=names.get(step.department, step.department),
                condition=conditions.get(step.key),
                state=states.get(step.key),
                units=units,
            )
            for step in steps
        }

    # In columns: one column per dependency depth.
    wide_lines = all_lines(29)
    box_height = 16 + LINE_HEIGHT * max(len(lines) for lines in wide_lines.values())
    tallest = max(len(column) for column in columns.values())
    width = MARGIN * 2 + len(columns) * BOX_WIDTH + (len(columns) - 1) * COLUMN_GAP
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
    edges: list[tuple[str, str]] = []
    for step in steps:
        for parent in step.after:
            if parent not in positions:
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
            edges.append((step.key, path))
    wide = _svg(
        layout="columns",
        steps=steps,
        positions=positions,
        box_width=BOX_WIDTH,
        box_heights=dict.fromkeys(positions, box_height),
        width=width,
        height=height,
        lines=wide_lines,
        tooltips=tooltips,
        states=states,
        edge_paths=edges,
        title=title,
        css_class="od-route",
    )

    # Stacked: one step under another, in the order they can run; an arrow to the next box goes
    # straight down, a longer one runs in a lane of the left margin.
    ordered = sorted(steps, key=lambda step: (depths.get(step.key, last), steps.index(step)))
    row_of = {step.key: row for row, step in enumerate(ordered)}
    stack_lines = all_lines(STACK_UNITS)
    long_edges = [
        (parent, step.key)
        for step in steps
        for parent in step.after
        if parent in row_of and row_of[step.key] - row_of[parent] != 1
    ]
    lanes = min(len(long_edges), STACK_LANES)
    gutter = MARGIN + lanes * STACK_LANE_WIDTH
    heights = {key: 16 + LINE_HEIGHT * len(lines) for key, lines in stack_lines.items()}
    stack_positions: dict[str, tuple[int, int]] = {}
    y = MARGIN
    for step in ordered:
        stack_positions[step.key] = (gutter, y)
        y += heights[step.key] + STACK_GAP
    stack_height = y - STACK_GAP + MARGIN
    stack_width = gutter + STACK_BOX_WIDTH + MARGIN
    stack_edges: list[tuple[str, str]] = []
    lane = 0
    for step in steps:
        for parent in step.after:
            if parent not in stack_positions:
                continue
            px, py = stack_positions[parent]
            cx, cy = stack_positions[step.key]
            if row_of[step.key] - row_of[parent] == 1:
                middle = gutter + STACK_BOX_WIDTH // 2
                path = f"M{middle},{py + heights[parent]} L{middle},{cy - 2}"
            else:
                x = gutter - STACK_LANE_WIDTH * (lane % STACK_LANES) - STACK_LANE_WIDTH // 2
                lane += 1
                start_y = py + heights[parent] // 2
                end_y = cy + heights[step.key] // 2
                path = f"M{px},{start_y} L{x},{start_y} L{x},{end_y} L{cx - 2},{end_y}"
            stack_edges.append((step.key, path))
    stacked = _svg(
        layout="stacked",
        steps=steps,
        positions=stack_positions,
        box_width=STACK_BOX_WIDTH,
        box_heights=heights,
        width=stack_width,
        height=stack_height,
        lines=stack_lines,
        tooltips=tooltips,
        states=states,
        edge_paths=stack_edges,
        title=title,
        css_class="od-route-stack",
    )
    parts = [wide, stacked]

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
    columns_class = f"od-route-figure--cols-{min(len(columns), 7)}"
    figure = f'<figure class="od-route-figure {columns_class}">{"".join(parts)}{alternative}</figure>'
    return mark_safe(figure)  # noqa: S308 - every interpolated value above is escaped
