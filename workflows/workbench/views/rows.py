"""The queue's rows as HTML: one format string per row, filled with escaped values.

The queue page shows 25 rows. Rendered through a template include, each row cost about 260 µs
of CPU on the bench machine (40 template nodes, each variable a chain of lookups): a third of
the page's CPU. As a format string, a row costs about a sixth of that. The markup is the design
system's table row, as in the rest of queue.html.

The same function renders the page's rows and the single row that htmx swaps in after a claim or
a release, so the two cannot drift apart.
"""

import html
from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.translation import gettext as _

from workflows import clock
from workflows.models import WorkItem

# A number no work item has, reversed in place of each row's own (see _links).
_ANY_ITEM = 987_654_321_987
_STAND_IN = str(_ANY_ITEM)
_LINKS = (
    ("url", "workflows:workbench-item"),
    ("claim_url", "workflows:workbench-claim"),
    ("release_url", "workflows:workbench-release"),
)
_TAGS: dict[str, str] = {WorkItem.Status.OPEN: " govuk-tag--blue", WorkItem.Status.WAITING: " govuk-tag--yellow"}

_ROW = (
    '<tr class="govuk-table__row" id="item-{pk}">\n'
    '  <td class="govuk-table__cell">\n'
    '    <div class="govuk-checkboxes govuk-checkboxes--small">\n'
    '      <div class="govuk-checkboxes__item">\n'
    '        <input class="govuk-checkboxes__input" type="checkbox" id="select-{pk}" name="items" value="{pk}"'
    ' form="bulk-form">\n'
    '        <label class="govuk-label govuk-checkboxes__label" for="select-{pk}">'
    '<span class="govuk-visually-hidden">{select}</span></label>\n'
    "      </div>\n"
    "    </div>\n"
    "  </td>\n"
    '  <th scope="row" class="govuk-table__header"><a class="govuk-link" href="{url}">{number}</a>\n'
    '    <span class="govuk-body-s govuk-!-display-block">{service} · {step}</span></th>\n'
    '  <td class="govuk-table__cell">{applicant}'
    '<span class="govuk-body-s govuk-!-display-block">{masked_id}</span></td>\n'
    '  <td class="govuk-table__cell">{department}</td>\n'
    '  <td class="govuk-table__cell"><strong class="govuk-tag{tag}">{status}</strong></td>\n'
    '  <td class="govuk-table__cell">{due}</td>\n'
    '  <td class="govuk-table__cell">{assignee}</td>\n'
    '  <td class="govuk-table__cell">{action}{message}</td>\n'
    "</tr>"
)
_DUE = '{day}<span class="govuk-body-s govuk-!-display-block">{text}</span>'
_ACTION = (
    '\n    <form method="post" action="{url}" hx-post="{url}" hx-target="#item-{pk}" hx-swap="outerHTML">'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">\n'
    '      <input type="hidden" name="next" value="{next_url}">\n'
    '      <button type="submit" class="govuk-button {style} govuk-!-margin-bottom-0" data-module="govuk-button">'
    '{label}<span class="govuk-visually-hidden"> {number}</span></button>\n'
    "    </form>\n  "
)
_MESSAGE = '<p class="govuk-body-s govuk-!-margin-top-2{error}" role="status">{message}</p>'


def queue_rows(
    request: HttpRequest, items: Sequence[Any], *, next_url: str, message: str = "", ok: bool = True
) -> SafeString:
    """The table rows of `items` (work items decorated by `selectors.decorate_rows`), for the
    clerk of the request; `message` is shown in the row after an action on it (the htmx swap)."""
    links = _links()
    # What every row repeats, escaped once per page.
    claim = {"style": "govuk-button--secondary", "label": _esc(_("Claim")), "csrf": _esc(get_token(request)),
             "next_url": _esc(next_url)}  # fmt: skip
    release = {**claim, "style": "govuk-button--warning", "label": _esc(_("Release"))}
    note = _MESSAGE.format(error="" if ok else " govuk-error-message", message=_esc(message)) if message else ""
    clerk_id = request.user.pk
    rows = []
    for item in items:
        pk = str(item.pk)
        number = _esc(item.application.number)
        if item.status == WorkItem.Status.OPEN and not item.assignee_id:
            action = _ACTION.format(url=links["claim_url"].replace(_STAND_IN, pk), pk=pk, number=number, **claim)
        elif item.status == WorkItem.Status.CLAIMED and item.assignee_id == clerk_id:
            action = _ACTION.format(url=links["release_url"].replace(_STAND_IN, pk), pk=pk, number=number, **release)
        else:
            action = ""
        rows.append(
            _ROW.format(
                pk=pk,
                select=_esc(_("Select %(number)s") % {"number": item.application.number}),
                url=links["url"].replace(_STAND_IN, pk),
                number=number,
                service=_esc(item.application.service.name),
                step=_esc(item.step_label),
                applicant=_esc(item.application.applicant.name),
                masked_id=_esc(item.masked_id),
                department=_esc(item.department.name),
                tag=_TAGS.get(item.status, " govuk-tag--grey"),
                status=_esc(item.status_label),
                due=_due(item),
                assignee=_esc((item.assignee.name if item.assignee_id else "") or "—"),
                action=action,
                message=note,
            )
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every value in a row went through _esc


def _esc(value: object) -> str:
    """Django's escaping (`html.escape`, quotes included) without its lazy-string wrapper, which
    cost more than the escaping itself at a dozen values a row; safe strings are kept as they are."""
    if isinstance(value, SafeData):
        return str(value)
    return html.escape(str(value))


def _links() -> dict[str, str]:
    """Every row link's URL pattern reversed once, with a stand-in for the row's id (reverse()
    costs about 40 µs; three per row would be 3 ms a page)."""
    return {attribute: _esc(reverse(name, args=[_ANY_ITEM])) for attribute, name in _LINKS}


def _due(item: Any) -> str:
    if not item.statutory_due_at:
        return "—"
    day = _esc(date_format(clock.due_date(item.statutory_due_at), "SHORT_DATE_FORMAT"))
    if item.deadline_text:
        return _DUE.format(day=day, text=_esc(item.deadline_text))
    return day
