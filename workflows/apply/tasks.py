"""Periodic work of applying once: remind about, then delete, drafts nobody touches."""

from celery import shared_task

from workflows.apply.actions import drafts_purge


@shared_task(name="workflows.apply.drafts_purge")
def drafts_purge_task() -> dict[str, int]:
    result = drafts_purge()
    return {"reminded": result.reminded, "purged": result.purged}
