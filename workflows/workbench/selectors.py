"""Reads of the department workbench, scoped to what the clerk may see.

Scoping is membership-filtered SQL (DESIGN §6): a work item is visible when its department is
one where the clerk holds a queue role — a sub-select on `Membership`, never per-object
permission rows. Everything else answers 404.

The queue itself resolves the clerk's departments to a literal list first (`queue_scope`, one
tiny query): with `department_id = <id>` PostgreSQL walks the partial queue index in due order
and stops after one page, where a sub-select made it sort the department's whole queue.
"""

import base64
import binascii
import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, QuerySet, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import Department, Membership, User
from accounts.selectors import (
    COUNTER_ROLES,
    QUEUE_ROLES,
    SUPERVISOR_ROLES,
    department_ids,
    has_role,
)
from documents.models import Certificate
from lib.text import in_language
from services.elements import display_value, mask_value
from services.models import DataElement, LifeEvent, Service
from services.routes import parse_route
from services.selectors import life_events, published_services
from workflows import clock
from workflows.models import (
    Application,
    ApplicationEvent,
    ApplicationGroup,
    GroupDocument,
    Incident,
    Note,
    TransferRequest,
    WorkItem,
)

ID_NUMBER_KEY = "person.id_number"
PAGE_SIZE = 25
# A search matching more applications than this walks the department's queue instead.
SEARCH_CANDIDATES = 2000
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
    counts: dict[str, int]
    next_cursor: str | None
    services: list[Service] = field(default_factory=list)


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
    """One query: the departments where `user` holds a queue role, and which roles."""
    if not user.is_authenticated:
        return QueueScope()
    rows = list(Membership.objects.filter(user_id=user.pk, role__in=QUEUE_ROLES).values_list("department_id", "role"))
    return QueueScope(
        department_ids=tuple(sorted({department for department, _ in rows})),
        roles=frozenset(role for _, role in rows),
    )


def departments_for(*, user: User, roles: tuple[str, ...] = QUEUE_ROLES) -> QuerySet[Department]:
    return Department.objects.filter(pk__in=department_ids(user=user, roles=roles))


def colleagues(*, department_id: int) -> QuerySet[User]:
    """Staff who can take work of a department (for assignment)."""
    return (
        User.objects.filter(memberships__department_id=department_id, memberships__role__in=QUEUE_ROLES)
        .distinct()
        .order_by("display_name", "username")
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


def work_items_in_scope(*, clerk: User, roles: tuple[str, ...] = QUEUE_ROLES) -> QuerySet[WorkItem]:
    """Every review step of the clerk's departments, with what a queue row or page shows."""
    return (
        WorkItem.objects.filter(kind=WorkItem.Kind.REVIEW, department_id__in=department_ids(user=clerk, roles=roles))
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


def _decorate_all(items: list[WorkItem], now: datetime.datetime) -> None:
    """What a queue row shows besides the columns: masked ID, working days left (one calendar
    query for the whole page)."""
    moments = [timezone.localtime(now).date()] + [
        timezone.localtime(moment).date()
        for item in items
        for moment in (item.statutory_due_at, item.clock_stopped_at)
        if moment is not None
    ]
    calendar = clock.Calendar(min(moments), max(moments))
    for item in items:
        _decorate(item, now, calendar)


def _decorate(item: WorkItem, now: datetime.datetime, calendar: clock.Calendar) -> None:
    item.masked_id = masked_id_number(getattr(item, "id_number", None))  # type: ignore[attr-defined]
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
    is given), the working-day calendar (twice), the counts (one aggregate), the page (keyset,
    joined). Raises BadCursor for a cursor we did not hand out.
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
    counts = base.aggregate(**{name: Count("pk", filter=condition) for name, condition in conditions.items()})
    # The page in two steps inside one statement: the ids of the page in queue order (work item
    # columns only, an index-only walk of the live queue index; the applicant is joined only to
    # search), then the rows shown for just those ids — never a join of the whole tab before the sort.
    ids = base.filter(conditions[tab])
    if after:
        ids = ids.filter(_after(after))
    ordering = (F("statutory_due_at").asc(nulls_last=True), "pk")
    page: list[WorkItem] = list(
        WorkItem.objects.filter(pk__in=ids.order_by(*ordering).values("pk")[: limit + 1])
        .select_related(*QUEUE_ROW_RELATED)
        .annotate(id_number=_id_number())
        .defer("application__data", "result", "correction")
        .order_by(*ordering)
    )
    next_cursor = cursor_encode(page[limit - 1]) if len(page) > limit else None
    items = page[:limit]
    _decorate_all(items, now)
    return QueuePage(tab=tab, items=items, counts={k: counts[k] or 0 for k in Tab.ALL}, next_cursor=next_cursor)


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
    _decorate_all(items, now)
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


# --- The work item page -----------------------------------------------------------------------


@dataclass
class FieldRow:
    key: str
    label: str
    shown: str
    masked: bool
    changed_from_verified: bool
    revealed: bool = False


@dataclass
class Section:
    title: str
    rows: list[FieldRow]


def _is_protected(element: DataElement) -> bool:
    return element.kind == DataElement.Kind.RESIDENT_ID or element.sensitivity == DataElement.Sensitivity.SENSITIVE


def applicant_sections(application: Application, *, revealed: frozenset[str] = frozenset()) -> list[Section]:
    """The applicant's data laid out by the pinned version's form: sections, labels from the
    data dictionary, protected values masked unless revealed."""
    data = application.data or {}
    changed = set(application.group.changed_verified or [])
    sections: dict[str, Section] = {}
    for form_field in application.service_version.fields.select_related("element").order_by("order", "pk"):
        element = form_field.element
        if element.key not in data:
            continue
        value = data[element.key]
        protected = _is_protected(element)
        reveal = protected and element.key in revealed
        row = FieldRow(
            key=element.key,
            label=element.label,
            shown=display_value(element, value) if (reveal or not protected) else mask_value(element, value),
            masked=protected and not reveal,
            changed_from_verified=element.key in changed,
            revealed=reveal,
        )
        title = form_field.section
        sections.setdefault(title, Section(title=title, rows=[])).rows.append(row)
    return list(sections.values())


def field_value_for_reveal(application: Application, key: str) -> tuple[DataElement, Any] | None:
    """The element and value of a protected field of this application's form, or None."""
    form_field = application.service_version.fields.select_related("element").filter(element__key=key).first()
    if form_field is None or key not in (application.data or {}) or not _is_protected(form_field.element):
        return None
    return form_field.element, application.data[key]


def application_documents(application: Application) -> list[GroupDocument]:
    return list(
        GroupDocument.objects.filter(group_id=application.group_id)
        .select_related("document", "document_type")
        .order_by("document_type__code")
    )


def application_document(application: Application, document_id: int) -> GroupDocument:
    """A document attached to this application's group; 404 for any other document."""
    attachment = (
        GroupDocument.objects.filter(group_id=application.group_id, document_id=document_id)
        .select_related("document", "document_type")
        .first()
    )
    if attachment is None:
        raise Http404
    return attachment


def application_events(application: Application) -> list[ApplicationEvent]:
    events = list(
        ApplicationEvent.objects.filter(application=application)
        .select_related("actor", "work_item", "work_item__department")
        .order_by("created_at", "pk")
    )
    for event in events:
        event.label = event_label(event.kind)  # type: ignore[attr-defined]
    return events


def application_notes(application: Application) -> list[Note]:
    return list(Note.objects.filter(application=application).select_related("author", "department"))


def application_certificates(application: Application) -> list[Certificate]:
    return list(
        Certificate.objects.filter(application_number=application.number).select_related("document_type", "issued_by")
    )


def rejection_reason_choices(application: Application) -> list[tuple[str, str]]:
    reasons = application.service_version.rejection_reasons or []
    return [
        (str(reason.get("code")), in_language(str(reason.get("label_en", "")), str(reason.get("label_zh", ""))))
        for reason in reasons
        if isinstance(reason, dict) and reason.get("code")
    ]


def correction_choices(application: Application) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(fields, materials) the clerk may ask the applicant to correct."""
    version = application.service_version
    fields = [
        (form_field.element.key, form_field.element.label)
        for form_field in version.fields.select_related("element").order_by("order", "pk")
    ]
    materials = [
        (material.document_type.code, material.document_type.name)
        for material in version.materials.select_related("document_type").order_by("order", "pk")
    ]
    return fields, materials


def clock_state(item: WorkItem) -> dict[str, Any]:
    return {
        "due_at": item.statutory_due_at,
        "working_days_left": clock.working_days_left(item.statutory_due_at, stopped_at=item.clock_stopped_at),
        "stopped_at": item.clock_stopped_at,
        "overdue": clock.is_overdue(item.statutory_due_at, stopped_at=item.clock_stopped_at),
    }


def department_choices_for_transfer(item: WorkItem) -> QuerySet[Department]:
    return Department.objects.exclude(pk=item.department_id).order_by("code")


def event_label(kind: str) -> str:
    """What the clerk's history calls an event (its kind's label)."""
    try:
        return str(ApplicationEvent.Kind(kind).label)
    except ValueError:  # a kind of an older release
        return kind.replace("_", " ").capitalize()


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
