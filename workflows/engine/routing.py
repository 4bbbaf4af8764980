"""The heart of the engine: moving one application along its route (DESIGN §4–§5).

Everything here runs inside a transaction that holds the application's row lock
(`application_lock`). It writes work items, events, timers and outbox rows only — it never
calls the broker; the outbox sends after commit.

A route step's state is its *current* work item: the highest round for that step key (a
transfer adds a round). A step without a work item has not started yet.
"""

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Department, User
from lib.text import in_language
from services.conditions import evaluate
from services.fees import fee_quote
from services.models import ServiceVersion
from services.routes import RouteStep, parse_route, topological_order
from workflows import clock
from workflows.engine.events import event_record, events_together
from workflows.engine.produced import produced_values_make
from workflows.models import Application, ApplicationEvent, Timer, WorkItem
from workflows.outbox import outbox_enqueue

logger = logging.getLogger("workflows.engine")

STEP_RUN_TASK = "workflows.step_run"
# Told after commit when an application whose service produces data for its life event
# finishes: the siblings waiting for it get the data, or are stopped (workflows.engine.bundles).
BUNDLE_DELIVER_TASK = "workflows.bundle_deliver"
FINISHED_OK = (WorkItem.Status.DONE, WorkItem.Status.SKIPPED)
RUNNABLE_KINDS = (WorkItem.Kind.AUTOMATIC, WorkItem.Kind.ISSUE)
# The deadline warning fires when this share of a step's working time is used up.
WARNING_AT = 0.8


# Published versions never change (DESIGN §4; a trigger refuses any update of their route):
# each process keeps the ones it has read, with their parsed routes, by id.
_versions: dict[int, ServiceVersion] = {}
_routes: dict[int, list[RouteStep]] = {}
VERSIONS_KEPT = 1000


def version_cached(version_id: int) -> ServiceVersion:
    """The service version, from this process's memory once read (a version is immutable)."""
    version = _versions.get(version_id)
    if version is None:
        version = ServiceVersion.objects.get(pk=version_id)
        if version.status == ServiceVersion.Status.DRAFT:
            return version  # a draft may still change: never kept
        if len(_versions) >= VERSIONS_KEPT:
            _versions.clear()
            _routes.clear()
        _versions[version_id] = version
    return version


def with_version(application: Application) -> Application:
    """The application, with its version from this process's cache."""
    application.service_version = version_cached(application.service_version_id)
    return application


def application_lock(application_id: int) -> Application:
    """The application, locked for the rest of the transaction (call inside one)."""
    assert transaction.get_connection().in_atomic_block, "lock the application inside a transaction"
    return with_version(Application.objects.select_for_update(of=("self",)).get(pk=application_id))


def application_lock_of_item(work_item_id: int) -> Application | None:
    """The application of a work item, locked, in one statement (None: no such work item)."""
    assert transaction.get_connection().in_atomic_block, "lock the application inside a transaction"
    application = Application.objects.select_for_update(of=("self",)).filter(work_items__pk=work_item_id).first()
    return None if application is None else with_version(application)


def route_steps(application: Application) -> list[RouteStep]:
    """The route of the version the application was submitted against (never a newer one),
    parsed once per process."""
    version_id = application.service_version_id
    steps = _routes.get(version_id)
    if steps is None:
        steps = parse_route(application.service_version.route)
        if version_id in _versions:
            _routes[version_id] = steps
    return list(steps)


def step_options(application: Application, step_key: str) -> dict[str, Any]:
    """The `options` a route step gives its handler (kept on the raw JSON of the step)."""
    route = application.service_version.route or {}
    raw_steps = route.get("steps", []) if isinstance(route, dict) else route
    for raw in raw_steps:
        if isinstance(raw, dict) and raw.get("key") == step_key:
            options = raw.get("options") or {}
            return dict(options) if isinstance(options, dict) else {}
    return {}


def current_items(application: Application, *, lock: bool = False) -> dict[str, WorkItem]:
    """Step key → its current work item (the highest round); `lock`: every work item of the
    application is locked too (after the application, as everywhere)."""
    rows = WorkItem.objects.filter(application=application).select_related("department", "assignee")
    if lock:
        rows = rows.select_for_update(of=("self",))
    items: dict[str, WorkItem] = {}
    for item in rows.order_by("round", "pk"):
        item.application = application
        items[item.step_key] = item
    return items


# --- State changes: each writes exactly one event --------------------------------------------


def item_set_status(
    item: WorkItem,
    to_status: str,
    *,
    kind: ApplicationEvent.Kind,
    actor: User | None = None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    fields: Iterable[str] = (),
) -> None:
    """Moves a work item to a status, saving the named extra fields, with its one event."""
    from_status = item.status
    item.status = to_status
    if to_status in WorkItem.FINISHED:
        item.finished_at = timezone.now()
        item.warning_at = item.escalate_at = None  # a finished step has no deadline to watch
    # The deadline timers ride on the UPDATE the status change makes anyway.
    item.save(update_fields=["status", "finished_at", "warning_at", "escalate_at", "updated_at", *fields])
    item_status_recorded(item, from_status, kind=kind, actor=actor, reason=reason, payload=payload)


def item_status_recorded(
    item: WorkItem,
    from_status: str,
    *,
    kind: ApplicationEvent.Kind,
    actor: User | None = None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
) -> None:
    """The one event of a work item's status change already saved (from `from_status` to its status)."""
    to_status = item.status
    event_record(
        application=item.application,
        work_item=item,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason,
        payload=payload,
    )
    logger.info(
        "work item %s application=%s step=%s round=%s %s -> %s",
        kind,
        item.application.number,
        item.step_key,
        item.round,
        from_status,
        to_status,
    )


def application_set_status(
    application: Application,
    to_status: str,
    *,
    kind: ApplicationEvent.Kind,
    actor: User | None = None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    fields: Iterable[str] = (),
) -> None:
    from_status = application.status
    application.status = to_status
    application.save(update_fields=["status", "updated_at", *fields])
    event_record(
        application=application,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason,
        payload=payload,
    )
    logger.info("application %s %s %s -> %s", application.number, kind, from_status, to_status)


# --- Timers ----------------------------------------------------------------------------------


DEADLINE_TIMER_KINDS = (Timer.Kind.DEADLINE_WARNING, Timer.Kind.ESCALATION)


def timers_cancel(*, work_item: WorkItem | None = None, application: Application | None = None, kinds=None) -> int:
    """Cancels pending timers. A work item's deadline timers (its columns) are cleared in memory,
    for the status change that follows to save (item_set_status saves them); correction timers
    are rows, updated only where a correction was ever asked (no row can exist otherwise)."""
    if work_item is not None and (not kinds or set(kinds) & set(DEADLINE_TIMER_KINDS)):
        work_item.warning_at = work_item.escalate_at = None
    row_kinds = [kind for kind in kinds or Timer.Kind.values if kind not in DEADLINE_TIMER_KINDS]
    if not row_kinds or (work_item is not None and not work_item.correction):
        return 0
    pending = Timer.objects.filter(fired_at__isnull=True, cancelled_at__isnull=True)
    if work_item is not None:
        pending = pending.filter(work_item=work_item)
    if application is not None:
        pending = pending.filter(application=application)
    if kinds:
        pending = pending.filter(kind__in=row_kinds)
    return pending.update(cancelled_at=timezone.now())


def deadline_timers_set(item: WorkItem, *, since: datetime) -> None:
    """Sets (in memory) a warning when most of the step's working time is used, an escalation
    when it is overdue."""
    if item.statutory_due_at is None:
        return
    remaining = clock.working_seconds_between(since, item.statutory_due_at)
    item.warning_at = clock.add_working_seconds(since, remaining * WARNING_AT)
    item.escalate_at = item.statutory_due_at


def deadline_timers_schedule(item: WorkItem, *, since: datetime) -> None:
    """The deadline timers of a saved work item whose clock (re)starts: set and saved."""
    deadline_timers_set(item, since=since)
    if item.statutory_due_at is not None:
        WorkItem.objects.filter(pk=item.pk).update(warning_at=item.warning_at, escalate_at=item.escalate_at)


# --- Steps -----------------------------------------------------------------------------------


def step_dispatch(item: WorkItem) -> None:
    """Asks a department worker to run an automatic or issue step (sent after commit)."""
    outbox_enqueue(task=STEP_RUN_TASK, kwargs={"work_item_id": item.pk}, queue=item.department.queue)


FALLBACK_LABELS = {
    "review": gettext_lazy("Review by %(department)s"),
    "automatic": gettext_lazy("Automatic check by %(department)s"),
    "issue": gettext_lazy("Certificate from %(department)s"),
    "appointment": gettext_lazy("Appointment at %(department)s"),
    "payment": gettext_lazy("Payment to %(department)s"),
}
# Told after commit when an application that may hold a payment is withdrawn or refused: the
# payments app refunds by the service's rules (a task name, so the engine imports nothing of it).
PAYMENT_SETTLE_TASK = "payments.application_settle"


def step_labels(step: RouteStep, department: Department) -> tuple[str, str]:
    """The step's name in English and Chinese: the route's labels, or, where the route gives
    none, what the step does and which department does it (never the bare key)."""
    english, chinese = step.label_en.strip(), step.label_zh.strip()
    if english or chinese:
        return english or chinese, chinese or english
    names = []
    for language, department_name in (("en", department.name_en), ("zh-hans", department.name_zh)):
        with translation.override(language):
            template = FALLBACK_LABELS.get(step.kind)
            names.append(str(template) % {"department": department_name} if template else step.key)
    return names[0], names[1]


def step_label(step: RouteStep, department: Department | None, item: WorkItem | None = None) -> str:
    """What screens call a step in the current language: the name its work item was opened
    with, else the name it will be opened with."""
    if item is not None and (item.label_en or item.label_zh):
        return item.step_label
    if department is None:
        return step.label
    return in_language(*step_labels(step, department))


def step_open(
    application: Application,
    step: RouteStep,
    *,
    now: datetime,
    round_number: int = 1,
    department: Department | None = None,
    due_at: datetime | None = None,
    actor: User | None = None,
    reason: str = "",
    save: bool = True,
) -> WorkItem:
    """Opens a step: its work item, with its deadline timers, and its event. `save=False`
    (inside `events_together()`, as `advance_locked` does): the work item is returned unsaved
    for the caller to insert with the others it opens (`items_insert`), before the events."""
    department = department or Department.objects.get(code=step.department)
    if step.kind == WorkItem.Kind.PAYMENT:
        return payment_step_open(application, step, now=now, department=department)
    sla_days = step.sla_days or application.service_version.time_limit_days
    if due_at is None and step.kind == WorkItem.Kind.REVIEW and sla_days:
        due_at = clock.add_working_days(now, sla_days)
    label_en, label_zh = step_labels(step, department)
    item = WorkItem(
        application=application,
        step_key=step.key,
        label_en=label_en,
        label_zh=label_zh,
        round=round_number,
        department=department,
        service_id=application.service_id,
        kind=step.kind,
        status=WorkItem.Status.OPEN,
        sla_days=sla_days if step.kind == WorkItem.Kind.REVIEW else None,
        statutory_due_at=due_at,
        opened_at=now,
    )
    if item.kind not in RUNNABLE_KINDS:
        deadline_timers_set(item, since=now)  # written with the row: no timer rows
    if save:
        items_insert([item])
    event_record(
        application=application,
        work_item=item,
        kind=ApplicationEvent.Kind.STEP_OPENED,
        from_status="",
        to_status=item.status,
        actor=actor,
        reason=reason,
        payload={"step": step.key, "department": department.code, "round": round_number},
    )
    logger.info("work item opened application=%s step=%s round=%s", application.number, step.key, round_number)
    return item


def items_insert(items: list[WorkItem]) -> None:
    """Inserts opened work items in one statement, then asks for the runnable ones to run."""
    WorkItem.objects.bulk_create(items)
    for item in items:
        if item.kind in RUNNABLE_KINDS:
            step_dispatch(item)


def payment_step_open(application: Application, step: RouteStep, *, now: datetime, department: Department) -> WorkItem:
    """A payment step waits for the applicant to pay (payments/): its clock is stopped from the
    start, since the wait is the applicant's, and it has no deadline timers. Nothing to pay
    (every fee exempt for these answers): the step is done at once."""
    quote = fee_quote(application.service_version, application.data)
    label_en, label_zh = step_labels(step, department)
    owes = quote.total_fen > 0
    item = WorkItem.objects.create(
        application=application,
        step_key=step.key,
        label_en=label_en,
        label_zh=label_zh,
        round=1,
        department=department,
        service_id=application.service_id,
        kind=WorkItem.Kind.PAYMENT,
        status=WorkItem.Status.WAITING if owes else WorkItem.Status.DONE,
        clock_stopped_at=now if owes else None,
        result={"amount_fen": quote.total_fen},
        opened_at=now,
        finished_at=None if owes else now,
    )
    event_record(
        application=application,
        work_item=item,
        kind=ApplicationEvent.Kind.STEP_OPENED,
        from_status="",
        to_status=item.status,
        reason="" if owes else _("Nothing to pay: every fee is waived for this application."),
        payload={"step": step.key, "department": department.code, "round": 1, "amount_fen": quote.total_fen},
    )
    logger.info("payment step opened application=%s step=%s fen=%s", application.number, step.key, quote.total_fen)
    return item


def step_skip(
    application: Application, step: RouteStep, *, now: datetime, department: Department | None = None
) -> WorkItem:
    department = department or Department.objects.get(code=step.department)
    label_en, label_zh = step_labels(step, department)
    item = WorkItem.objects.create(
        application=application,
        step_key=step.key,
        label_en=label_en,
        label_zh=label_zh,
        round=1,
        department=department,
        service_id=application.service_id,
        kind=step.kind,
        status=WorkItem.Status.SKIPPED,
        finished_at=now,
    )
    event_record(
        application=application,
        work_item=item,
        kind=ApplicationEvent.Kind.STEP_SKIPPED,
        from_status="",
        to_status=item.status,
        reason=_("Not needed: its condition does not hold for this application."),
        payload={"step": step.key, "when": dict(step.when or {})},
    )
    return item


# --- Whole application -----------------------------------------------------------------------


def live_work_cancel(
    application: Application,
    *,
    actor: User | None,
    reason: str,
    kind: ApplicationEvent.Kind,
    items: Iterable[WorkItem] | None = None,
) -> None:
    """Cancels every live work item and every pending timer of the application (`items`:
    every work item of the application, when the transition has already read them)."""
    if items is None:
        items = WorkItem.objects.filter(application=application, status__in=WorkItem.LIVE)
    asked_correction = False
    for item in items:
        if item.status not in WorkItem.LIVE:
            continue
        item.application = application
        item_set_status(item, WorkItem.Status.CANCELLED, kind=kind, actor=actor, reason=reason)
        asked_correction = asked_correction or bool(item.correction)
    # Deadline timers went with their items' status; correction timers are rows, pending only
    # on a live step the applicant was asked to correct.
    if asked_correction:
        timers_cancel(application=application)


def application_finish(
    application: Application,
    to_status: str,
    *,
    kind: ApplicationEvent.Kind,
    actor: User | None = None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    items: Iterable[WorkItem] | None = None,
) -> None:
    if to_status in (Application.Status.WITHDRAWN, Application.Status.REJECTED):
        items = list(items) if items is not None else None
        paid_here = (
            any(item.kind == WorkItem.Kind.PAYMENT for item in items)
            if items is not None
            else WorkItem.objects.filter(application=application, kind=WorkItem.Kind.PAYMENT).exists()
        )
        if paid_here:
            outbox_enqueue(task=PAYMENT_SETTLE_TASK, kwargs={"application_id": application.pk})
    live_work_cancel(
        application, actor=actor, reason=reason, kind=ApplicationEvent.Kind(f"{kind}_cancelled"), items=items
    )
    application.decided_at = timezone.now()
    fields = ["decided_at"]
    # Only a service that produces data for its life event (its version says so; no query).
    if application.service_version.produces:
        if to_status == Application.Status.APPROVED:
            fields += produced_values_fill(application)
        outbox_enqueue(task=BUNDLE_DELIVER_TASK, kwargs={"application_id": application.pk})
    application_set_status(
        application, to_status, kind=kind, actor=actor, reason=reason, payload=payload, fields=fields
    )


def advance_locked(
    application: Application, *, actor: User | None = None, items: dict[str, WorkItem] | None = None
) -> None:
    """Opens what can open, skips what does not apply, rejects or approves when it is time.

    Call with the application locked; `items`: its current work items when the transition
    has read them already (`current_items`), as they are now. Idempotent: a second call with
    nothing new changes nothing.
    """
    if application.status not in (Application.Status.IN_PROGRESS, Application.Status.AWAITING_APPLICANT):
        return
    steps = route_steps(application)
    items = current_items(application) if items is None else items
    by_key = {step.key: step for step in steps}
    departments: dict[str, Department] = {}

    def department_of(step: RouteStep) -> Department:
        # Every department of the route in one query, the first time one is needed.
        if not departments:
            departments.update(
                (department.code, department)
                for department in Department.objects.filter(code__in={s.department for s in steps})
            )
        return departments.get(step.department) or Department.objects.get(code=step.department)

    for key, item in items.items():
        step = by_key.get(key)
        stops = step is None or step.on_reject != "continue"
        if item.status == WorkItem.Status.DONE and item.decision == WorkItem.Decision.REJECTED and stops:
            reasons = [str(reason) for reason in item.decision_reasons]
            application_finish(
                application,
                Application.Status.REJECTED,
                kind=ApplicationEvent.Kind.APPLICATION_REJECTED,
                # The applicant reads this reason: the clerk's internal remark never goes here.
                reason="; ".join(reasons),
                payload={"step": key, "reasons": reasons},
                items=list(items.values()),
            )
            return

    now = timezone.now()
    opened: list[WorkItem] = []
    with events_together():
        progressed = True
        while progressed:
            progressed = False
            for step in topological_order(steps):
                if step.key in items:
                    continue
                # Waiting for a sibling application's approval and its data (nearly always empty).
                if application.waiting_for and any(code in application.waiting_for for code in step.waits_for):
                    continue
                if not all(parent in items and items[parent].status in FINISHED_OK for parent in step.after):
                    continue
                if evaluate(step.when, application.data or {}):
                    item = step_open(application, step, now=now, department=department_of(step), save=False)
                    if item.pk is None:
                        opened.append(item)
                    items[step.key] = item
                else:
                    items[step.key] = step_skip(application, step, now=now, department=department_of(step))
                progressed = True
        # Every step this opens, in one INSERT; their events follow, in one INSERT too.
        if opened:
            items_insert(opened)

    if all(step.key in items and items[step.key].status in FINISHED_OK for step in steps):
        application_finish(
            application,
            Application.Status.APPROVED,
            kind=ApplicationEvent.Kind.APPLICATION_APPROVED,
            payload={"steps": {key: item.status for key, item in items.items()}},
            items=list(items.values()),
        )


def produced_values_fill(application: Application) -> list[str]:
    """On approval, the values the service produces that the applicant did not give (a business
    licence's credit code) are made and kept on the application; the field names to save."""
    made = produced_values_make(application)
    if not made:
        return []
    application.data = {**(application.data or {}), **made}
    return ["data"]


def bundle_wait_record(application: Application) -> None:
    """Says, once, on the timeline that clerks and the applicant read, what the application waits for."""
    siblings = list(
        Application.objects.filter(group_id=application.group_id, service__code__in=application.waiting_for)
        .select_related("service")
        .order_by("number")
    )
    names = ", ".join(f"{sibling.service.name} ({sibling.number})" for sibling in siblings)
    event_record(
        application=application,
        kind=ApplicationEvent.Kind.BUNDLE_WAITING,
        from_status=application.status,
        to_status=application.status,
        reason=_("Some steps wait for the approval of %(applications)s, and take the data it produces.")
        % {"applications": names},
        payload={"services": list(application.waiting_for), "applications": [s.number for s in siblings]},
    )


def application_begin_locked(application: Application) -> bool:
    """Submitted → in progress, with the application's statutory due time; then advance."""
    if application.status != Application.Status.SUBMITTED:
        return False
    now = timezone.now()
    fields = []
    if application.statutory_due_at is None and application.service_version.time_limit_days:
        application.statutory_due_at = clock.add_working_days(
            application.submitted_at or now, application.service_version.time_limit_days
        )
        fields.append("statutory_due_at")
    with events_together():
        application_set_status(
            application, Application.Status.IN_PROGRESS, kind=ApplicationEvent.Kind.ROUTING_STARTED, fields=fields
        )
        if application.waiting_for:
            bundle_wait_record(application)
        # A submitted application has no work item yet: the route opens its first ones now.
        advance_locked(application, items={})
    return True
