"""The sequencer's Celery task: on its own queue `transparency`, run by beat every few seconds."""

from celery import shared_task

from workflows.transparency.sequencer import log_integrate


@shared_task(name="workflows.transparency.integrate", queue="transparency")
def integrate() -> int:
    return log_integrate()
