"""The department queue: membership-scoped SQL (department x role, DESIGN §6), tabs, filters and
search, keyset pages, working days left on each row; and what supervisors watch (overdue work,
incidents, transfer requests)."""

import base64
import binascii
import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import F, Q, QuerySet, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import Department, User
from accounts.selectors import (
    QUEUE_ROLES,
    SUPERVISOR_ROLES,
    department_ids,
    held_department_ids,
    members_of,
)
from services.elements import mask_value
from services.models import DataElement, Service
from services.routes import parse_route
from workflows import clock
from workflows.models import (
    Application,
    Incident,
    TransferRequest,
    WorkItem,
)

ID_NUMBER_KEY = "person.id_number"
PAGE_SIZE = 25
# A search matching more applications than this walks the department's queue instead.
SEARCH_CANDIDATES = 2000
# A tab counts its work up to this many and then shows "1,000+": an exact count would read the
# whole department's live queue on every page (the supervision dashboard has the totals).
COUNT_CAP = 1000
# "Near deadline": due within this many working days.
NEAR_DEADLINE_DAYS = 3
# Work the queue shows: review steps that are open, being handled, or waiting for the applicant.
QUEUE_STATUSES = (WorkItem.Status.OPEN, WorkItem.Status.CLAIMED, WorkItem.Status.WAITING)
ACTIVE_STATUSES = (WorkItem.Status.OPEN, WorkItem.Status.CLAIMED)
MASKED_ID = re.compile(r"^([0-9A-Za-z]{0,17})\*+([0-9A-Za-z]{0,17})$")
_ID_ELEMENT = DataElement(key=ID_NUMBER_KEY, kind=DataElement.Kind.RESIDENT_ID)


class Tab:
    UNCLAIMED = "unclaimed"
    MINE = "mine"
    TEAM = "team"
    NEAR_DEADLINE = "near"
    OVERDUE = "overdue"

    LABELS = {
        UNCLAIMED: _("Unclaimed"),
        MINE: _("Mine"),
        TEAM: _("My team's"),
        NEAR_DEADLINE: _("Near deadline"),
        OVERDUE: _("Overdue"),
    }
    ALL = tuple(LABELS)


class BadCursor(ValueError):
    """The pagination cursor was not one we handed out."""


@dataclass
class QueueFilters:
    q: str = ""
    service: str = ""  # Service.code
    status: str = ""  # WorkItem.Status value
    due_before: datetime.date | None = None


@dataclass
class QueuePage:
    tab: str
    items: list[WorkItem]
    counts: dict[str, int]  # at most COUNT_CAP each
    next_cursor: str | None
    services: list[Service] = field(default_factory=list)
    # The tabs holding more than COUNT_CAP (their count reads COUNT_CAP).
    more: dict[str, bool] = field(default_factory=dict)


# --- Who is staff -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueScope:
    """The departments whose queue a member sees, and whether they supervise somewhere."""

    department_ids: tuple[int, ...] = ()
    roles: frozenset[str] = frozenset()

    @property
    def is_supervisor(self) -> bool:
        return bool(self.roles & set(SUPERVISOR_ROLES))


def queue_scope(*, user: User) -> QueueScope:
    """The departments where `user` holds a queue role, and which roles (from the memberships
    read once per request, `User.active_memberships`)."""
    if not user.is_authenticated:
        return QueueScope()
    rows = [(department, role) for department, role in user.active_memberships() if role in QUEUE_ROLES]
    return QueueScope(
        department_ids=tuple(sorted({department for department, _ in rows})),
        roles=frozenset(role for _, role in rows),
    )


def departments_for(*, user: User, roles: tuple[str, ...] = QUEUE_ROLES) -> QuerySet[Department]:
    return Department.objects.filter(pk__in=department_ids(user=user, roles=roles))


def colleagues(*, department_id: int) -> QuerySet[User]:
    """Staff who can take work of a department (for assignment)."""
    return User.objects.filter(pk__in=members_of(department_id=department_id, roles=QUEUE_ROLES)).order_by(
        "display_name", "username"
    )


# --- The queue --------------------------------------------------------------------------------


def _id_number() -> Coalesce:
    """The applicant's ID number: as given on the application, else the account's."""
    return Coalesce(
        NullIf(KeyTextTransform(ID_NUMBER_KEY, "application__data"), Value("")),
        NullIf(F("application__applicant__resident_id"), Value("")),
        output_field=TextField(),
    )


QUEUE_ROW_RELATED = ("application", "application__applicant", "application__service", "department", "assignee")

# The columns a queue page's rows read (the page, the API, the access records, the cursor), and
# nothing else: not the accounts' password hashes and sign-in dates, nor the steps' decisions,
# notes and timestamps: 35 columns of the five joined tables, 2 of them dates (all: 89, 22 dates).
# A person's columns are what User.name reads.
QUEUE_ROW_FIELDS = (
    "id", "application", "step_key", "label_en", "label_zh", "round", "department", "service", "kind",
    "status", "assignee", "statutory_due_at", "clock_stopped_at",
    "application__id", "application__number", "application__applicant", "application__service",
    "application__applicant__id", "application__applicant__username", "application__applicant__first_name",
    "application__applicant__last_name", "application__applicant__display_name",
    "application__service__id", "application__service__code",
    "application__service__name_en", "application__service__name_zh",
    "department__id", "department__code", "department__name_en", "department__name_zh",
    "assignee__id", "assignee__username", "assignee__first_name", "assignee__last_name", "assignee__display_name",
)  # fmt: skip


def work_items_in_scope(*, clerk: User, roles: tuple[str, ...] = QUEUE_ROLES) -> QuerySet[WorkItem]:
    """Every review step of the clerk's departments, with what a queue row or page shows."""
    departments = held_department_ids(user=clerk, roles=roles)
    return (
        WorkItem.objects.filter(kind=WorkItem.Kind.REVIEW, department_id__in=departments)
        .select_related(*QUEUE_ROW_RELATED)
        .annotate(id_number=_id_number())
    )


def work_item_for_clerk(*, clerk: User, work_item_id: int | str, roles: tuple[str, ...] = QUEUE_ROLES) -> WorkItem:
    """The work item if it is one of the clerk's departments' review steps; 404 otherwise."""
    try:
        pk = int(work_item_id)
    except (TypeError, ValueError):
        raise Http404 from None
    item = (
        work_items_in_scope(clerk=clerk, roles=roles)
        .select_related("application__group__organisation")
        .filter(pk=pk)
        .first()
    )
    if item is None:
        raise Http404
    return item


def deadline_text(days_left: int | None, *, stopped: bool) -> str:
    """ "3 working days left", "2 working days overdue", "clock stopped"."""
    if days_left is None:
        return ""
    if stopped:
        return str(_("clock stopped while the applicant corrects"))
    if days_left < 0:
        return ngettext("%(days)d working day overdue", "%(days)d working days overdue", -days_left) % {
            "days": -days_left
        }
    return ngettext("%(days)d working day left", "%(days)d working days left", days_left) % {"days": days_left}


def decorate_rows(items: list[WorkItem], now: datetime.datetime | None = None) -> None:
    """What a queue row shows besides the columns, worked out once per row in Python rather than
    in the row template: masked ID, status label, working days left (the process's calendar)."""
    now = now or timezone.now()
    moments = [timezone.localtime(now).date()] + [
        timezone.localtime(moment).date()
        for item in items
        for moment in (item.statutory_due_at, item.clock_stopped_at)
        if moment is not None
    ]
    calendar = clock.Calendar(min(moments), max(moments))
    for item in items:
        _decorate(item, now, calendar)


def status_label(item: WorkItem) -> str:
    """The row's status tag: the choice's label (not `get_status_display`, which rebuilds the
    choices on every call), "waiting" in the applicant's words."""
    if item.status == WorkItem.Status.WAITING:
        return str(_("Waiting for the applicant"))
    return str(WorkItem.Status(item.status).label)


def _decorate(item: WorkItem, now: datetime.datetime, calendar: clock.Calendar) -> None:
    item.masked_id = masked_id_number(getattr(item, "id_number", None))  # type: ignore[attr-defined]
    item.status_label = status_label(item)  # type: ignore[attr-defined]
    left = clock.working_days_left(item.statutory_due_at, now=now, stopped_at=item.clock_stopped_at, calendar=calendar)
    item.working_days_left = left  # type: ignore[attr-defined]
    item.deadline_text = deadline_text(left, stopped=bool(item.clock_stopped_at))  # type: ignore[attr-defined]


def masked_id_number(value: str | None) -> str:
    return mask_value(_ID_ELEMENT, value) if value else ""


def _search(q: str) -> Q:
    q = " ".join(q.split())
    match = MASKED_ID.match(q.replace(" ", ""))
    if match and "*" in q:
        prefix, suffix = match.groups()
        return Q(id_number__istartswith=prefix, id_number__iendswith=suffix) if prefix or suffix else Q(pk__in=[])
    return (
        Q(application__number__istartswith=q)
        | Q(application__applicant__display_name__icontains=q)
        | Q(id_number__iexact=q)
    )


def search_candidates(q: str) -> list[int] | None:
    """The applications a search can match, found through the search indexes (one query), or
    None to scan the department's queue instead: a masked ID, or more than SEARCH_CANDIDATES
    matches (a common name), where walking the queue is cheaper.

    A superset of `_search` (the ID branch checks the given and the account's ID separately);
    the queue still applies `_search` itself. On PostgreSQL every branch is indexed (migration
    0009: application number, given ID, applicant name by trigram, account ID).
    """
    q = " ".join(q.split())
    if not q or ("*" in q and MASKED_ID.match(q.replace(" ", ""))):
        return None
    applications = Application.objects.order_by().values_list("pk", flat=True)
    found = list(
        applications.filter(number__istartswith=q).union(
            applications.filter(applicant__display_name__icontains=q),
            applications.alias(given_id=KeyTextTransform(ID_NUMBER_KEY, "data")).filter(given_id__iexact=q),
            applications.filter(applicant__resident_id__iexact=q),
        )[: SEARCH_CANDIDATES + 1]
    )
    return None if len(found) > SEARCH_CANDIDATES else found


def _filtered(queryset: QuerySet[WorkItem], filters: QueueFilters) -> QuerySet[WorkItem]:
    queryset = queryset.filter(status__in=QUEUE_STATUSES)
    if filters.q.strip():
        candidates = search_candidates(filters.q)
        if candidates is not None:
            queryset = queryset.filter(application_id__in=candidates)
        queryset = queryset.filter(_search(filters.q))
    if filters.service:
        queryset = queryset.filter(application__service__code=filters.service)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.due_before:
        limit = timezone.make_aware(datetime.datetime.combine(filters.due_before, datetime.time.min))
        queryset = queryset.filter(statutory_due_at__lt=limit + datetime.timedelta(days=1))
    return queryset


def tab_conditions(*, clerk: User, now: datetime.datetime) -> dict[str, Q]:
    near_limit = clock.add_working_days(now, NEAR_DEADLINE_DAYS, strict=False)
    active = Q(status__in=ACTIVE_STATUSES)
    # Within the queue's statuses (open, claimed, waiting), "claimed or waiting" is "not open":
    # written so, PostgreSQL walks the live queue index in due order for one assignee instead of
    # collecting the whole tab and sorting it.
    being_handled = ~Q(status=WorkItem.Status.OPEN)
    return {
        Tab.UNCLAIMED: Q(status=WorkItem.Status.OPEN, assignee__isnull=True),
        Tab.MINE: Q(assignee_id=clerk.pk) & being_handled,
        Tab.TEAM: Q(assignee__isnull=False) & being_handled,
        Tab.NEAR_DEADLINE: active & Q(statutory_due_at__gte=now, statutory_due_at__lt=near_limit),
        Tab.OVERDUE: active & Q(statutory_due_at__lt=now),
    }


def bounded_counts(base: QuerySet[WorkItem], conditions: dict[str, Q]) -> dict[str, int]:
    """Each tab's count, stopping at COUNT_CAP + 1 rows: one statement whatever the number of tabs,
    each tab a sub-select with a LIMIT, so a tab of 100,000 costs no more than one of 1,001."""
    parts: list[str] = []
    params: list[Any] = []
    for condition in conditions.values():
        rows = base.filter(condition).order_by().values("pk")[: COUNT_CAP + 1]
        try:
            sql, rows_params = rows.query.get_compiler(using=rows.db).as_sql()
        except EmptyResultSet:  # a search that found no candidate
            parts.append("0")
            continue
        # The ORM's own SQL of each tab, its values passed as parameters.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS tab_{len(parts)})")  # noqa: S608
        params.extend(rows_params)
    with connections[base.db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return dict(zip(conditions, row, strict=True))


def cursor_encode(item: WorkItem) -> str:
    due = item.statutory_due_at.isoformat() if item.statutory_due_at else ""
    return base64.urlsafe_b64encode(f"{due}|{item.pk}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[datetime.datetime | None, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        due_text, pk_text = raw.split("|", 1)
        due = parse_datetime(due_text) if due_text else None
        if due_text and (due is None or timezone.is_naive(due)):
            raise ValueError(due_text)
        return due, int(pk_text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadCursor(cursor) from exc


def _after(cursor: str) -> Q:
    """Rows after the cursor in (statutory_due_at NULLS LAST, id) order."""
    due, pk = cursor_decode(cursor)
    if due is None:
        return Q(statutory_due_at__isnull=True, pk__gt=pk)
    return Q(statutory_due_at__gt=due) | Q(statutory_due_at=due, pk__gt=pk) | Q(statutory_due_at__isnull=True)


def _page_ids(ids: QuerySet[WorkItem], *, after: str | None, ordering: tuple, window: int) -> QuerySet:
    """The ids of a page in queue order (statutory_due_at NULLS LAST, id), `window` of them.

    After a cursor with a due time, the rows after it are two ranges of the queue index: those due
    from the cursor's time on, walked from there (`statutory_due_at >= …` is an index condition),
    then those without a due time; each is cut to the window and the two are joined
    (UNION ALL). A single OR of the two would walk the department's queue from its start,
    filtering, to reach a page deep down: the deeper the page, the slower. (SQLite cannot cut the
    parts of a compound statement: there the OR.)"""
    if not after:
        return ids.order_by(*ordering).values("pk")[:window]
    due, pk = cursor_decode(after)
    if due is None or not connections[ids.db].features.supports_slicing_ordering_in_compound:
        return ids.filter(_after(after)).order_by(*ordering).values("pk")[:window]
    later = ids.filter(statutory_due_at__gte=due).filter(Q(statutory_due_at__gt=due) | Q(pk__gt=pk))
    undated = ids.filter(statutory_due_at__isnull=True)
    return (
        later.order_by(*ordering)
        .values("pk")[:window]
        .union(undated.order_by(*ordering).values("pk")[:window], all=True)
    )


def work_items_for_clerk(
    *,
    clerk: User,
    tab: str = Tab.UNCLAIMED,
    filters: QueueFilters | None = None,
    after: str | None = None,
    limit: int = PAGE_SIZE,
    scope: QueueScope | None = None,
) -> QueuePage:
    """One page of a queue tab, its next cursor, and the count of every tab (same filters).

    A fixed number of queries whatever the queue size: the clerk's departments (unless `scope`
    is given), the counts (one statement, each bounded by COUNT_CAP), the page (keyset, joined);
    the working-day calendar is the process's. Raises BadCursor for a cursor we did not hand out.
    """
    filters = filters or QueueFilters()
    tab = tab if tab in Tab.ALL else Tab.UNCLAIMED
    scope = scope or queue_scope(user=clerk)
    now = timezone.now()
    conditions = tab_conditions(clerk=clerk, now=now)
    # Literal department ids (not a sub-select), so the planner walks the queue index in order.
    in_departments = WorkItem.objects.filter(kind=WorkItem.Kind.REVIEW, department_id__in=list(scope.department_ids))
    # The counts read only work item columns (an index-only scan of the partial queue index)
    # unless a search needs the applicant: the ID number is joined in only then.
    searching = bool(filters.q.strip())
    base = _filtered(in_departments.annotate(id_number=_id_number()) if searching else in_departments, filters)
    counts = bounded_counts(base, conditions)
    # The page in two steps inside one statement: the ids of the page in queue order (work item
    # columns only, an index-only walk of the live queue index; the applicant is joined only to
    # search), then the rows shown for just those ids — never a join of the whole tab before the sort.
    ids = base.filter(conditions[tab])
    ordering = (F("statutory_due_at").asc(nulls_last=True), "pk")
    page_ids = _page_ids(ids, after=after, ordering=ordering, window=limit + 1)
    page: list[WorkItem] = list(
        WorkItem.objects.filter(pk__in=page_ids)
        .select_related(*QUEUE_ROW_RELATED)
        .only(*QUEUE_ROW_FIELDS)
        .annotate(id_number=_id_number())
        .order_by(*ordering)
    )
    next_cursor = cursor_encode(page[limit - 1]) if len(page) > limit else None
    items = page[:limit]
    decorate_rows(items, now)
    return QueuePage(
        tab=tab,
        items=items,
        counts={k: min(counts[k], COUNT_CAP) for k in Tab.ALL},
        more={k: counts[k] > COUNT_CAP for k in Tab.ALL},
        next_cursor=next_cursor,
    )


def queue_services() -> list[Service]:
    return list(Service.objects.order_by("code"))


def department_overdue(*, supervisor: User, limit: int = 200) -> list[WorkItem]:
    """The supervisor's departments' overdue live review steps, most overdue first."""
    now = timezone.now()
    items = list(
        work_items_in_scope(clerk=supervisor, roles=SUPERVISOR_ROLES)
        .filter(status__in=ACTIVE_STATUSES, statutory_due_at__lt=now)
        .defer("application__data", "result", "correction")
        .order_by("statutory_due_at", "pk")[:limit]
    )
    decorate_rows(items, now)
    return items


def incidents_for_supervisor(*, supervisor: User) -> QuerySet[Incident]:
    return (
        Incident.objects.filter(
            department_id__in=department_ids(user=supervisor, roles=SUPERVISOR_ROLES), status=Incident.Status.OPEN
        )
        .select_related("work_item", "work_item__application", "department")
        .order_by("opened_at", "pk")
    )


def incident_for_supervisor(*, supervisor: User, incident_id: int) -> Incident:
    """An incident of one of the supervisor's departments (open or handled); 404 otherwise."""
    incident = (
        Incident.objects.filter(
            pk=incident_id, department_id__in=department_ids(user=supervisor, roles=SUPERVISOR_ROLES)
        )
        .select_related("work_item", "work_item__application", "department")
        .first()
    )
    if incident is None:
        raise Http404
    return incident


def transfer_requests_for_supervisor(*, supervisor: User) -> QuerySet[TransferRequest]:
    """Pending transfer requests of the supervisor's departments whose step is still live."""
    return (
        TransferRequest.objects.filter(
            work_item__department_id__in=department_ids(user=supervisor, roles=SUPERVISOR_ROLES),
            work_item__status__in=ACTIVE_STATUSES,
            status=TransferRequest.Status.PENDING,
        )
        .select_related("work_item__application__service", "work_item__department", "to_department", "requested_by")
        .defer("work_item__application__data", "work_item__result", "work_item__correction")
        .order_by("created_at", "pk")
    )


def transfer_request_for_supervisor(*, supervisor: User, request_id: int) -> TransferRequest:
    """A transfer request of one of the supervisor's departments (any status); 404 otherwise."""
    found = (
        TransferRequest.objects.filter(
            pk=request_id, work_item__department_id__in=department_ids(user=supervisor, roles=SUPERVISOR_ROLES)
        )
        .select_related("work_item__application", "work_item__department", "to_department", "requested_by")
        .first()
    )
    if found is None:
        raise Http404
    return found


def transfer_requests_of_item(item: WorkItem) -> list[TransferRequest]:
    """Every transfer request of this step, oldest first, for its page."""
    return list(item.transfer_requests.select_related("to_department", "requested_by", "decided_by"))


def transfer_route_departments(item: WorkItem) -> list[Department]:
    """The departments the step's route lets a clerk transfer it to without approval."""
    step = next(
        (step for step in parse_route(item.application.service_version.route) if step.key == item.step_key), None
    )
    if step is None or not step.transfer_to:
        return []
    return list(Department.objects.filter(code__in=step.transfer_to).order_by("code"))
