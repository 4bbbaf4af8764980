"""The engine's Celery tasks: thin, take ids, idempotent (DESIGN §5.2).

Sent through the outbox (workflows/outbox.py), so each receives an ``outbox_id`` to confirm.
"""

import logging
import os

from celery import shared_task

from workflows.engine import actions, automatic, bundles, timers
from workflows.outbox import outbox_confirm
from workflows.outbox import outbox_relay as relay

logger = logging.getLogger("workflows.engine")


@shared_task(name="workflows.application_start")
def application_start(*, application_id: int, outbox_id: int | None = None) -> None:
    actions.application_start(application_id=application_id, outbox_id=outbox_id)


@shared_task(name="workflows.bundle_deliver")
def bundle_deliver(*, application_id: int, outbox_id: int | None = None) -> list[str]:
    return bundles.bundle_deliver(application_id=application_id, outbox_id=outbox_id)


@shared_task(bind=True, name="workflows.step_run", max_retries=None)
def step_run(self, *, work_item_id: int, outbox_id: int | None = None) -> str:
    """Runs an automatic or issue step on its department's queue, retrying with backoff."""
    # Confirmed on arrival: from here on a lost run is found by the stalled-step sweep.
    outbox_confirm(outbox_id)
    delivery = self.request.delivery_info or {}
    ran_on = {"worker": self.request.hostname or "", "pid": os.getpid(), "queue": delivery.get("routing_key", "")}
    outcome = automatic.automatic_step_run(work_item_id=work_item_id, task_id=self.request.id or "", ran_on=ran_on)
    # In-process (embedded mode, tests) there is no worker to come back later: retry at once.
    while outcome.status == "retry" and self.request.is_eager:
        outcome = automatic.automatic_step_run(work_item_id=work_item_id, task_id=self.request.id or "", ran_on=ran_on)
    if outcome.status == "retry":
        raise self.retry(kwargs={"work_item_id": work_item_id}, countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="workflows.outbox_relay")
def outbox_relay() -> int:
    return relay()


@shared_task(name="workflows.timers_fire")
def timers_fire() -> int:
    return timers.timers_fire()


@shared_task(name="workflows.steps_recover")
def steps_recover() -> int:
    return automatic.stalled_steps_recover()
