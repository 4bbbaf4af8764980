"""Helpers for the progress tests: applications moved through the real engine."""

from typing import Any

from workflows.engine.actions import correction_request, work_item_claim, work_item_decide
from workflows.models import Application, WorkItem
from workflows.tests.factories import application_submit, published_version

TWO_DEPARTMENTS: dict[str, Any] = {
    "steps": [
        {"key": "licence", "department": "market", "kind": "review", "sla_days": 5, "label_en": "Business licence"},
        {
            "key": "fire",
            "department": "fire",
            "kind": "review",
            "sla_days": 10,
            "after": ["licence"],
            "label_en": "Fire safety check",
        },
    ]
}
ONE_STEP: dict[str, Any] = {
    "steps": [{"key": "licence", "department": "market", "kind": "review", "sla_days": 5, "label_en": "Licence"}]
}


def submit(capture, *, applicant, route=None, code=None, time_limit_days: int = 20) -> Application:
    """A submitted application, started by the engine (outbox run on commit)."""
    version = published_version(route=route or ONE_STEP, code=code, time_limit_days=time_limit_days)
    with capture(execute=True):
        application = application_submit(applicant=applicant, version=version)
    application.refresh_from_db()
    return application


def item(application: Application, step_key: str) -> WorkItem:
    return application.work_items.filter(step_key=step_key).order_by("-round").first()  # type: ignore[return-value]


def decide(capture, application: Application, step_key: str, clerk, decision: str = "approved", **kwargs) -> None:
    work_item = item(application, step_key)
    with capture(execute=True):
        if work_item.status == WorkItem.Status.OPEN:
            work_item_claim(work_item_id=work_item.pk, clerk=clerk)
        work_item_decide(work_item_id=work_item.pk, actor=clerk, decision=decision, **kwargs)
    application.refresh_from_db()


def ask_correction(capture, application: Application, step_key: str, clerk, **kwargs) -> WorkItem:
    work_item = item(application, step_key)
    with capture(execute=True):
        if work_item.status == WorkItem.Status.OPEN:
            work_item_claim(work_item_id=work_item.pk, clerk=clerk)
        correction_request(
            work_item_id=work_item.pk,
            actor=clerk,
            fields=kwargs.get("fields", ["business.name"]),
            materials=kwargs.get("materials", []),
            message=kwargs.get("message", "The business name does not match the lease."),
        )
    application.refresh_from_db()
    return item(application, step_key)
