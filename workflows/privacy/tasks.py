"""Thin Celery tasks of privacy and retention: load by id, call one function."""

from celery import shared_task

from workflows.outbox import outbox_confirm
from workflows.privacy.export import data_export_build, data_exports_expire
from workflows.privacy.retention import retention_sweep


@shared_task(name="workflows.privacy.export_build")
def export_build(*, export_id: int, outbox_id: int | None = None) -> str:
    outcome = data_export_build(export_id=export_id)
    outbox_confirm(outbox_id)
    return outcome


@shared_task(name="workflows.privacy.exports_expire")
def exports_expire() -> int:
    return data_exports_expire()


@shared_task(name="workflows.privacy.retention_sweep")
def retention_sweep_task() -> dict[str, int]:
    result = retention_sweep()
    return {"applications": result.applications, "documents": result.documents}
