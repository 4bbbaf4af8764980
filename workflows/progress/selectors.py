"""Reads for following progress, scoped to the person asking.

Applicants reach only their own applications, groups, notifications, ratings and access
records; anything else is `DoesNotExist` (the views answer 404).
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, User
from lib.text import in_language
from services.routes import RouteError, RouteStep, parse_route
from workflows import clock
from workflows.engine.routing import step_label
from workflows.engine.selectors import bundle_waits, followed_by
from workflows.engine.waits import StepWait, waits_describe
from workflows.models import (
    Application,
    ApplicationEvent,
    ApplicationGroup,
    DataAccessRecord,
    Notification,
    Rating,
    WorkItem,
)

# --- Applications --------------------------------------------------------------------------


def applications_for_applicant(*, user: User) -> QuerySet[Application]:
    return Application.objects.filter(followed_by(user)).select_related("service", "group__organisation")


def own_applications(*, user: User) -> QuerySet[Application]:
    """Only the applications the person made (the access log is about the person's own data)."""
    return Application.objects.filter(applicant=user).select_related("service")


def application_for_applicant(*, user: User, number: str) -> Application:
    """An application the person follows, by number; raises Application.DoesNotExist otherwise."""
    return (
        applications_for_applicant(user=user)
        .select_related("service_version", "service__lead_department")
        .get(number=number)
    )


def group_for_applicant(*, user: User, number: str) -> ApplicationGroup:
    """A submitted bundle the person follows; raises ApplicationGroup.DoesNotExist otherwise."""
    followed = Q(applicant=user) | Q(organisation__in=user.organisations.values("pk"))
    return (
        ApplicationGroup.objects.filter(followed, submitted_at__isnull=False)
        .select_related("life_event")
        .prefetch_related(
            Prefetch(
                "applications",
                queryset=Application.objects.select_related("service", "service_version").order_by("id"),
            )
        )
        .get(number=number)
    )


# --- The route and each department's clock -------------------------------------------------


class StepState:
    """What the applicant is told about one step (a plain code; labels below)."""

    NOT_STARTED = "not_started"
    # Not started: it waits for another application of the same bundle to be approved.
    WAITING_FOR_APPLICATION = "waiting_for_application"
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_YOU = "waiting_for_you"
    DELAYED = "delayed"
    DONE = "done"
    REJECTED = "rejected"
    NOT_NEEDED = "not_needed"
    CANCELLED = "cancelled"


def step_state_label(state: str) -> str:
    return {
        StepState.NOT_STARTED: _("Not started yet"),
        StepState.WAITING_FOR_APPLICATION: _("Waiting for another application"),
        StepState.QUEUED: _("Waiting to be picked up"),
        StepState.IN_PROGRESS: _("Being handled"),
        StepState.WAITING_FOR_YOU: _("Stopped — waiting for you"),
        StepState.DELAYED: _("Delayed — being handled"),
        StepState.DONE: _("Done"),
        StepState.REJECTED: _("Refused"),
        StepState.NOT_NEEDED: _("Not needed"),
        StepState.CANCELLED: _("Cancelled"),
    }.get(state, state)


# govuk-tag colour per state, for the step list and the picture's legend.
STEP_TAG = {
    StepState.NOT_STARTED: "govuk-tag--grey",
    StepState.WAITING_FOR_APPLICATION: "govuk-tag--grey",
    StepState.QUEUED: "govuk-tag--blue",
    StepState.IN_PROGRESS: "govuk-tag--blue",
    StepState.WAITING_FOR_YOU: "govuk-tag--yellow",
    StepState.DELAYED: "govuk-tag--orange",
    StepState.DONE: "govuk-tag--green",
    StepState.REJECTED: "govuk-tag--red",
    StepState.NOT_NEEDED: "govuk-tag--grey",
    StepState.CANCELLED: "govuk-tag--grey",
}


@dataclass
class StepClock:
    """One department step as the applicant sees it, with its statutory clock."""

    key: str
    label: str
    kind: str
    department: Department | None
    state: str
    due_at: datetime | None = None
    days_left: int | None = None
    stopped: bool = False
    stopped_since: datetime | None = None
    finished_at: datetime | None = None
    finished_on_time: bool | None = None
    decision: str = ""
    reasons: list[str] = field(default_factory=list)
    work_item_id: int | None = None
    correction: dict[str, Any] = field(default_factory=dict)
    # What a waiting step (an appointment) waits for: workflows.engine.waits; or, for a step
    # not started yet, the application of the same bundle it waits for.
    waiting: StepWait | None = None

    @property
    def state_label(self) -> str:
        return step_state_label(self.state)

    @property
    def tag_class(self) -> str:
        return STEP_TAG.get(self.state, "govuk-tag--grey")

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0 and not self.stopped

    @property
    def days_overdue(self) -> int:
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0

    @property
    def is_live(self) -> bool:
        return self.state in (StepState.QUEUED, StepState.IN_PROGRESS, StepState.WAITING_FOR_YOU, StepState.DELAYED)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "kind": self.kind,
            "department": self.department.code if self.department else None,
            "department_name": self.department.name if self.department else "",
            "state": self.state,
            "state_label": self.state_label,
            "due_at": self.due_at,
            "working_days_left": self.days_left,
            "clock_stopped": self.stopped,
            "overdue": self.overdue,
            "finished_at": self.finished_at,
            "finished_on_time": self.finished_on_time,
            "decision": self.decision,
            "reasons": self.reasons,
            "waiting": self.waiting.summary if self.waiting else None,
            "waiting_url": self.waiting.action_url if self.waiting else None,
        }


def _work_item_state(item: WorkItem) -> str:
    status = item.status
    if status in (WorkItem.Status.OPEN, WorkItem.Status.CLAIMED, WorkItem.Status.WAITING) and item.clock_stopped_at:
        return StepState.WAITING_FOR_YOU
    states: dict[str, str] = {
        WorkItem.Status.WAITING: StepState.NOT_STARTED,
        WorkItem.Status.OPEN: StepState.QUEUED,
        WorkItem.Status.CLAIMED: StepState.IN_PROGRESS,
        WorkItem.Status.FAILED: StepState.DELAYED,
        WorkItem.Status.SKIPPED: StepState.NOT_NEEDED,
        WorkItem.Status.CANCELLED: StepState.CANCELLED,
    }
    finished = StepState.REJECTED if item.decision == WorkItem.Decision.REJECTED else StepState.DONE
    return states.get(str(status), finished)


def _reason_labels(version_reasons: list[dict[str, Any]], reasons: list[Any]) -> list[str]:
    """Rejection reasons as the applicant reads them: the version's labels, free text as written."""
    by_code = {r.get("code"): r for r in version_reasons if isinstance(r, dict)}
    labels = []
    for reason in reasons:
        if isinstance(reason, dict):
            code = reason.get("code")
            text = reason.get("text") or reason.get("label") or ""
            known = by_code.get(code)
            labels.append(in_language(known["label_en"], known.get("label_zh", "")) if known else str(text or code))
        elif reason in by_code:
            labels.append(in_language(by_code[reason]["label_en"], by_code[reason].get("label_zh", "")))
        else:
            labels.append(str(reason))
    return [label for label in labels if label]


def application_steps(
    application: Application, *, now: datetime | None = None, work_items: list[WorkItem] | None = None
) -> list[StepClock]:
    """Every step of the application's route (its pinned version) with state and clock.

    A step with several rounds shows its latest round; steps not reached yet are "not started",
    or "waiting for another application" with the sibling named when the step waits for one.
    """
    now = now or timezone.now()
    if work_items is None:
        work_items = list(application.work_items.select_related("department").order_by("step_key", "round"))
    latest: dict[str, WorkItem] = {}
    for work_item in work_items:
        latest[work_item.step_key] = work_item  # ordered by round: the last one wins
    try:
        route_steps: list[RouteStep] = parse_route(application.service_version.route)
    except RouteError:
        route_steps = []
    departments = {d.code: d for d in Department.objects.filter(code__in={s.department for s in route_steps})}
    version_reasons = application.service_version.rejection_reasons or []
    keys = [s.key for s in route_steps] + [k for k in latest if k not in {s.key for s in route_steps}]
    route_by_key = {s.key: s for s in route_steps}
    waiting = waits_describe(list(latest.values()))
    siblings_awaited = bundle_waits(application, route_steps, latest)
    steps = []
    for key in keys:
        route_step = route_by_key.get(key)
        item: WorkItem | None = latest.get(key)
        department = item.department if item else departments.get(route_step.department if route_step else "")
        label = step_label(route_step, department, item) if route_step else (item.step_label if item else key)
        step = StepClock(
            key=key,
            label=label,
            kind=(item.kind if item else route_step.kind if route_step else ""),
            department=department,
            state=_work_item_state(item) if item else StepState.NOT_STARTED,
        )
        if item is not None:
            step.work_item_id = item.pk
            step.due_at = item.statutory_due_at
            step.decision = item.decision
            # The clerk's remark is internal ("not shown to the applicant"): never copied here.
            step.reasons = _reason_labels(version_reasons, item.decision_reasons or [])
            step.correction = item.correction or {}
            step.finished_at = item.finished_at
            if step.is_live:
                step.stopped = item.clock_stopped_at is not None
                step.stopped_since = item.clock_stopped_at
                step.days_left = clock.working_days_left(
                    item.statutory_due_at, now=now, stopped_at=item.clock_stopped_at
                )
            elif item.finished_at and item.statutory_due_at:
                step.finished_on_time = item.finished_at <= item.statutory_due_at
            if item.pk in waiting:
                step.waiting = waiting[item.pk]
                if step.waiting.applicant_acts and step.state == StepState.QUEUED:
                    step.state = StepState.WAITING_FOR_YOU
        elif key in siblings_awaited:
            step.state = StepState.WAITING_FOR_APPLICATION
            step.waiting = StepWait(summary=bundle_wait_for_applicant(siblings_awaited[key]))
        if application.is_finished and step.state == StepState.NOT_STARTED:
            step.state = StepState.CANCELLED if application.status == Application.Status.WITHDRAWN else step.state
        steps.append(step)
    return steps


def bundle_wait_for_applicant(siblings: list[Application]) -> str:
    """What the applicant reads next to a step waiting for another application of the bundle."""
    return " ".join(
        _("Waiting for your application “%(service)s” (number %(number)s) to be approved.")
        % {"service": sibling.service.name, "number": sibling.number}
        for sibling in siblings
    )


def open_correction(steps: list[StepClock]) -> StepClock | None:
    """The step whose correction request the applicant still owes, if any."""
    for step in steps:
        if step.state == StepState.WAITING_FOR_YOU and step.correction and not step.correction.get("answered_at"):
            return step
    return None


def correction_deadline(step: StepClock) -> date | None:
    raw = step.correction.get("reply_by") or step.correction.get("deadline")
    if not raw:
        return None
    try:
        return clock.due_date(datetime.fromisoformat(str(raw))) if "T" in str(raw) else date.fromisoformat(str(raw))
    except ValueError:
        return None


@dataclass
class CorrectionReach:
    """The other applications of the bundle that use what a correction request asks about:
    those the answer will correct too, and those already finished, which it will not touch."""

    updated: list[Application] = field(default_factory=list)
    finished: list[Application] = field(default_factory=list)


def correction_reach(application: Application, pending: list[WorkItem]) -> CorrectionReach:
    """Told before the applicant answers: where the answer goes besides this application."""
    keys = {key for item in pending for key in item.correction.get("fields", [])}
    codes = {code for item in pending for code in item.correction.get("materials", [])}
    siblings = (
        Application.objects.filter(group_id=application.group_id)
        .exclude(pk=application.pk)
        .filter(
            Q(service_version__fields__element__key__in=keys)
            | Q(service_version__materials__document_type__code__in=codes)
        )
        .distinct()
        .select_related("service")
        .order_by("pk")
    )
    reach = CorrectionReach()
    for sibling in siblings:
        (reach.finished if sibling.is_finished else reach.updated).append(sibling)
    return reach


# --- The timeline ---------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    at: datetime
    title: str
    detail: str = ""
    department: str = ""


def _event_title(event: ApplicationEvent, step_label: str) -> str | None:
    """Plain-language title of one event, or None when the event is internal (notes, audit)."""
    kind, to = event.kind, event.to_status
    on_step = event.work_item_id is not None
    # Events written twice (for the step and for the application) are told once.
    if kind in ("correction_answered", "correction_expired") and on_step:
        return None
    if kind == "correction_requested" and not on_step:
        return None
    by_kind = {
        "correction_requested": _("You were asked to correct the application: %(step)s"),
        "correction_submitted": _("You sent your corrections"),
        "correction_expired": _("The correction was not received in time"),
        "application_withdrawn": _("You withdrew the application"),
        "certificate_issued": _("Your certificate was issued"),
        "step_transferred": _("Passed to another department: %(step)s"),
        "step_failed": _("Delayed — being handled: %(step)s"),
        "step_retried": _("Being handled again: %(step)s"),
        "step_rejected": _("Refused: %(step)s"),
        "data_removed": _("Your answers and documents were removed: the time they are kept for ended"),
        "corrected_in_bundle": _("Updated with the correction you sent for another application of this bundle"),
    }
    if kind in by_kind:
        return str(by_kind[kind]) % {"step": step_label} if "%(step)s" in str(by_kind[kind]) else str(by_kind[kind])
    if event.from_status == to:
        return None  # reminders, warnings and escalations change nothing the applicant sees
    if event.work_item_id is None:
        by_status: dict[str, Any] = {
            Application.Status.SUBMITTED: _("You submitted the application"),
            Application.Status.IN_PROGRESS: _("The departments are handling the application"),
            Application.Status.AWAITING_APPLICANT: _("The application is waiting for you"),
            Application.Status.APPROVED: _("The application was approved"),
            Application.Status.REJECTED: _("The application was refused"),
            Application.Status.WITHDRAWN: _("You withdrew the application"),
        }
        if to == Application.Status.IN_PROGRESS and event.from_status == Application.Status.AWAITING_APPLICANT:
            return _("The departments resumed work")
        title = by_status.get(to)
        return str(title) if title else None
    by_item_status: dict[str, Any] = {
        WorkItem.Status.OPEN: _("Started: %(step)s"),
        WorkItem.Status.CLAIMED: _("A clerk is handling it: %(step)s"),
        WorkItem.Status.DONE: _("Finished: %(step)s"),
        WorkItem.Status.SKIPPED: _("Not needed: %(step)s"),
        WorkItem.Status.CANCELLED: _("Stopped: %(step)s"),
        WorkItem.Status.FAILED: _("Delayed — being handled: %(step)s"),
    }
    if to == WorkItem.Status.DONE and (event.payload or {}).get("decision") == WorkItem.Decision.REJECTED:
        return _("Refused: %(step)s") % {"step": step_label}
    if to == WorkItem.Status.OPEN and event.from_status == WorkItem.Status.CLAIMED:
        return None  # released back to the queue: internal
    title = by_item_status.get(to)
    return title % {"step": step_label} if title else None


# Reasons the applicant may read: decisions, corrections and their own withdrawal.
PUBLIC_REASON_KINDS = {"correction_requested", "application_rejected", "step_rejected", "correction_expired"}


def application_timeline(application: Application, steps: list[StepClock]) -> list[TimelineEntry]:
    labels = {s.work_item_id: s for s in steps if s.work_item_id}
    events = ApplicationEvent.objects.filter(application=application).select_related("work_item__department")
    entries: list[TimelineEntry] = []
    for event in events:
        step = labels.get(event.work_item_id) if event.work_item_id else None
        step_label = step.label if step else (event.work_item.step_label if event.work_item else "")
        title = _event_title(event, step_label)
        if title is None:
            continue
        is_rejection = event.to_status == Application.Status.REJECTED or (
            (event.payload or {}).get("decision") == WorkItem.Decision.REJECTED
        )
        detail = event.reason if (event.kind in PUBLIC_REASON_KINDS or is_rejection) else ""
        department = event.work_item.department.name if event.work_item else ""
        entries.append(TimelineEntry(at=event.created_at, title=title, detail=detail, department=department))
    return entries


# --- Inbox, ratings, access log ---------------------------------------------------------------


def notifications_for(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related("application")


def notification_for(*, user: User, notification_id: int) -> Notification:
    return notifications_for(user=user).get(pk=notification_id)


def ratings_for_applicant(*, user: User) -> QuerySet[Rating]:
    return Rating.objects.filter(applicant=user).select_related("application", "department", "follow_up")


def access_records_for_applicant(*, user: User, application_number: str | None = None) -> QuerySet[DataAccessRecord]:
    records = DataAccessRecord.objects.filter(applicant=user).select_related(
        "accessor", "department", "application", "work_item", "document__document_type"
    )
    if application_number:
        records = records.filter(application__number=application_number)
    return records.order_by("-created_at", "-id")


# Kinds of look, grouped for the person reading their access log.
ACCESS_GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("handling", ("view_application", "reveal_field", "open_document")),
    ("listed", ("listed",)),
    ("counter", ("counter_filing", "identity_check")),
    ("delegate", ("delegate_view",)),
    ("admin", ("admin_view",)),
]


@dataclass
class AccessGroupRow:
    accessor: User
    department: Department | None
    times: int
    first: datetime
    last: datetime


@dataclass
class AccessGroup:
    key: str
    title: str
    rows: list[AccessGroupRow] = field(default_factory=list)


def access_summary(*, user: User, application_number: str | None = None) -> list[AccessGroup]:
    """The access log at a glance: per kind of look, who looked, how often, first and last time
    (one aggregate query, plus one for the people and departments it names)."""
    from django.db.models import Count, Max, Min

    records = DataAccessRecord.objects.filter(applicant=user)
    if application_number:
        records = records.filter(application__number=application_number)
    counted = list(
        records.values("what", "accessor_id", "department_id")
        .annotate(times=Count("id"), first=Min("created_at"), last=Max("created_at"))
        .order_by()
    )
    people = {u.pk: u for u in User.objects.filter(pk__in={row["accessor_id"] for row in counted})}
    departments = {
        d.pk: d for d in Department.objects.filter(pk__in={row["department_id"] for row in counted} - {None})
    }
    titles = {
        "handling": _("Staff handling your applications"),
        "listed": _("Staff who saw your name in their queue or a search"),
        "counter": _("Counter clerks"),
        "delegate": _("People acting for you under your mandate"),
        "admin": _("Administrators of the portal"),
    }
    groups = []
    for key, kinds in ACCESS_GROUPS:
        merged: dict[tuple[int, int | None], AccessGroupRow] = {}
        for row in counted:
            if row["what"] not in kinds:
                continue
            slot = (row["accessor_id"], row["department_id"])
            found = merged.get(slot)
            if found is None:
                merged[slot] = AccessGroupRow(
                    accessor=people[row["accessor_id"]],
                    department=departments.get(row["department_id"]),
                    times=row["times"],
                    first=row["first"],
                    last=row["last"],
                )
            else:
                found.times += row["times"]
                found.first, found.last = min(found.first, row["first"]), max(found.last, row["last"])
        if merged:
            rows = sorted(merged.values(), key=lambda r: r.last, reverse=True)
            groups.append(AccessGroup(key=key, title=str(titles[key]), rows=rows))
    return groups


@dataclass
class DepartmentSight:
    """What one department could see of one application (data minimisation): the questions and
    documents its step was shown, as recorded when it opened the application."""

    application_number: str
    department: str
    elements: list[str]
    documents: list[str]


def access_sights(*, user: User, application_number: str | None = None) -> list[DepartmentSight]:
    """Per application and department, the union of what each look recorded as shown: one query
    for the records (distinct, so it grows with departments, not with looks) and one for the
    labels of the questions and documents they name."""
    from django.db.models import CharField, Value

    from services.models import DataElement, DocumentType

    records = DataAccessRecord.objects.filter(applicant=user, what=DataAccessRecord.What.VIEW_APPLICATION).exclude(
        visible={}
    )
    if application_number:
        records = records.filter(application__number=application_number)
    rows = list(
        records.values_list("application__number", "department__name_en", "department__name_zh", "visible").distinct()
    )
    if not rows:
        return []
    seen: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for number, name_en, name_zh, visible in rows:
        slot = seen.setdefault((number or "", in_language(name_en or "", name_zh or "")), (set(), set()))
        slot[0].update(visible.get("elements") or [])
        slot[1].update(visible.get("documents") or [])
    keys = set().union(*(elements for elements, _documents in seen.values()))
    codes = set().union(*(documents for _elements, documents in seen.values()))
    kind = CharField()
    labels = (
        DataElement.objects.filter(key__in=keys)
        .annotate(part=Value("element", output_field=kind))
        .values_list("part", "key", "label_en", "label_zh")
        .union(
            DocumentType.objects.filter(code__in=codes)
            .annotate(part=Value("document", output_field=kind))
            .values_list("part", "code", "name_en", "name_zh")
        )
    )
    names = {(part, key): in_language(label_en, label_zh) for part, key, label_en, label_zh in labels}
    return [
        DepartmentSight(
            application_number=number,
            department=department,
            elements=sorted(names.get(("element", key), key) for key in elements),
            documents=sorted(names.get(("document", code), code) for code in documents),
        )
        for (number, department), (elements, documents) in sorted(seen.items())
    ]
