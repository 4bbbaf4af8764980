"""Running automatic and issue steps on a department's worker (DESIGN §4, §5.2, §5.7).

The run has three parts, so a slow handler never holds the application's lock:
1. `_begin` — a conditional update that counts the attempt, only while the step is open;
2. the handler itself, outside any engine transaction (handlers are idempotent);
3. `_complete` — one transaction under the application lock that records the result,
   only if the step is still open, and advances the route.

A duplicated or redelivered task repeats 1–2 (finding the handler's earlier work) and finds
in 3 that the step is already done: one transition, one event.
"""

import logging
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import VerifiedAttribute
from documents.certificates import certificate_issue
from services import registry
from services.models import DocumentType
from workflows.engine import routing
from workflows.models import Application, ApplicationEvent, Incident, WorkItem

logger = logging.getLogger("workflows.engine")

MAX_BACKOFF_SECONDS = 300


@dataclass(frozen=True)
class RunOutcome:
    status: str  # "done", "duplicate", "retry", "incident"
    retry_in: float | None = None


def issue_certificate(*, application: Application, work_item: WorkItem, options: dict[str, Any]) -> dict[str, Any]:
    """The `issue` step: the certificate goes into the applicant's vault (idempotent per
    application number and document type, which `certificate_issue` guarantees)."""
    step = next(step for step in routing.route_steps(application) if step.key == work_item.step_key)
    document_type = DocumentType.objects.get(code=step.document_type)
    data = dict(application.data or {})
    organisation = application.group.organisation
    # A person is named as their verified identity says, whatever the application held.
    verified_name = (
        VerifiedAttribute.objects.filter(user=application.applicant, element_key="person.full_name")
        .values_list("value", flat=True)
        .first()
    )
    if verified_name:
        data["person.full_name"] = verified_name
    # An organisation's certificate names it as the register knows it; a person's, as verified.
    holder_name = (
        organisation.name
        if organisation is not None
        else str(data.get("business.name") or data.get("person.full_name") or application.applicant)
    )
    details = {
        label: str(data[key])
        for key, label in (
            ("business.name", "Business name"),
            ("business.address", "Address"),
            ("person.full_name", "Name"),
        )
        if data.get(key)
    }
    certificate = certificate_issue(
        owner=application.applicant,
        organisation=organisation,
        document_type=document_type,
        department=work_item.department,
        holder_name=holder_name,
        application_number=application.number,
        title=document_type.name_en,
        details=details,
    )
    return {
        "certificate_id": certificate.pk,
        "document_id": certificate.document_id,
        "verification_code": certificate.verification_code,
    }


def _begin(work_item_id: int) -> WorkItem | None:
    claimed = WorkItem.objects.filter(
        pk=work_item_id, status=WorkItem.Status.OPEN, kind__in=routing.RUNNABLE_KINDS
    ).update(attempts=F("attempts") + 1, updated_at=timezone.now())
    if not claimed:
        return None
    return WorkItem.objects.select_related("application", "application__service_version", "department").get(
        pk=work_item_id
    )


def _handler_result(item: WorkItem) -> dict[str, Any]:
    application = item.application
    options = routing.step_options(application, item.step_key)
    if item.kind == WorkItem.Kind.ISSUE:
        return issue_certificate(application=application, work_item=item, options=options)
    step = next(step for step in routing.route_steps(application) if step.key == item.step_key)
    if not step.handler:
        raise LookupError(f"automatic step {step.key} names no handler")
    handler = registry.get(step.handler)
    return handler.function(application=application, work_item=item, options=options)


def _complete(work_item_id: int, result: dict[str, Any], ran_on: dict[str, Any]) -> bool:
    with transaction.atomic():
        item = WorkItem.objects.select_related("department").get(pk=work_item_id)
        application = routing.application_lock(item.application_id)
        item = WorkItem.objects.select_for_update(of=("self",)).select_related("department").get(pk=work_item_id)
        item.application = application
        if item.status != WorkItem.Status.OPEN or application.is_finished:
            return False
        rejected = result.get("decision") == WorkItem.Decision.REJECTED
        item.decision = WorkItem.Decision.REJECTED if rejected else WorkItem.Decision.APPROVED
        item.decision_reasons = [str(reason) for reason in result.get("reasons", [])] if rejected else []
        item.result = {**result, "ran_on": ran_on}
        routing.item_set_status(
            item,
            WorkItem.Status.DONE,
            kind=ApplicationEvent.Kind.STEP_REJECTED if rejected else ApplicationEvent.Kind.STEP_COMPLETED,
            reason="; ".join(item.decision_reasons),
            payload={"result": {k: v for k, v in result.items() if k != "reasons"}, **ran_on},
            fields=["decision", "decision_reasons", "result"],
        )
        routing.advance_locked(application)
        return True


def _fail(work_item_id: int, error: str) -> bool:
    with transaction.atomic():
        item = WorkItem.objects.get(pk=work_item_id)
        application = routing.application_lock(item.application_id)
        item = WorkItem.objects.select_for_update(of=("self",)).select_related("department").get(pk=work_item_id)
        item.application = application
        if item.status != WorkItem.Status.OPEN or application.is_finished:
            return False
        item.result = {"error": error[-2000:]}
        routing.item_set_status(
            item,
            WorkItem.Status.FAILED,
            kind=ApplicationEvent.Kind.STEP_FAILED,
            reason=_("Delayed — being handled: the automatic step failed %(n)d times.") % {"n": item.attempts},
            payload={"error": error[-500:]},
            fields=["result"],
        )
        Incident.objects.create(work_item=item, department=item.department, error=error[-5000:])
        return True


def backoff_seconds(attempt: int) -> float:
    return min(settings.ENGINE_RETRY_BACKOFF_SECONDS * (2 ** max(attempt - 1, 0)), MAX_BACKOFF_SECONDS)


def automatic_step_run(*, work_item_id: int, task_id: str = "", ran_on: dict[str, Any] | None = None) -> RunOutcome:
    """Runs one automatic or issue step. Safe to call any number of times for one step."""
    item = _begin(work_item_id)
    if item is None:
        logger.info("step run: nothing to do work_item=%s task_id=%s", work_item_id, task_id)
        return RunOutcome("duplicate")
    number = item.application.number
    logger.info(
        "step run begins application=%s step=%s attempt=%s task_id=%s", number, item.step_key, item.attempts, task_id
    )
    try:
        result = _handler_result(item)
    except Exception:  # noqa: BLE001 - any handler failure is retried, then becomes an incident
        error = traceback.format_exc()
        logger.warning(
            "step run failed application=%s step=%s attempt=%s task_id=%s error=%s",
            number,
            item.step_key,
            item.attempts,
            task_id,
            error.strip().splitlines()[-1],
        )
        if item.attempts >= settings.ENGINE_MAX_ATTEMPTS:
            _fail(work_item_id, error)
            logger.error("incident opened application=%s step=%s task_id=%s", number, item.step_key, task_id)
            return RunOutcome("incident")
        return RunOutcome("retry", retry_in=backoff_seconds(item.attempts))
    completed = _complete(work_item_id, result, {**(ran_on or {}), "task_id": task_id})
    logger.info(
        "step run %s application=%s step=%s task_id=%s",
        "completed" if completed else "was a duplicate",
        number,
        item.step_key,
        task_id,
    )
    return RunOutcome("done" if completed else "duplicate")


def stalled_steps_recover(*, stale_seconds: float | None = None, limit: int = 200) -> int:
    """Dispatches again automatic steps that are open but have not run for too long
    (a lost message, or a worker killed without its message coming back)."""
    if stale_seconds is None:
        stale_seconds = settings.ENGINE_STALE_STEP_SECONDS
    cutoff = timezone.now() - timedelta(seconds=stale_seconds)
    stalled = list(
        WorkItem.objects.filter(status=WorkItem.Status.OPEN, kind__in=routing.RUNNABLE_KINDS, updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:limit]
    )
    recovered = 0
    for pk in stalled:
        with transaction.atomic():
            touched = WorkItem.objects.filter(pk=pk, status=WorkItem.Status.OPEN, updated_at__lt=cutoff).update(
                updated_at=timezone.now()
            )
            if touched:
                item = WorkItem.objects.select_related("department").get(pk=pk)
                routing.step_dispatch(item)
                recovered += 1
    if recovered:
        logger.warning("recovered %d stalled step(s)", recovered)
    return recovered
