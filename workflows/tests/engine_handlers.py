"""Handlers used only by the engine's tests. A test worker imports this module when started
with ENGINE_HANDLER_MODULES=workflows.tests.engine_handlers (see handlers.load_extra_handler_modules).

- "test.slow" sleeps `seconds`, writing "start <pid>" and "end <pid>" lines to the file named
  by `log`, so a test can kill the worker mid-step and count the runs;
- "test.flaky" fails until the step has been attempted more than `fail_times` times;
- "test.backend" records the PostgreSQL backend its connection talks to;
- "test.outbox_here" writes two outbox rows for tasks the worker runs itself after the commit
  (workflows/outbox.py): one that writes its process id to the file named by `log` and
  confirms, one that fails.
"""

import os
import time
from pathlib import Path
from typing import Any

from celery import shared_task

from services.registry import register
from workflows.models import Application, WorkItem


@register("test.slow", department="tax", description="Test only: a slow step.", options={"seconds": float, "log": str})
def slow(*, application: Application, work_item: WorkItem, options: dict[str, Any]) -> dict[str, Any]:
    log = Path(options["log"]) if options.get("log") else None
    if log:
        with log.open("a") as out:
            out.write(f"start {os.getpid()} {time.time()}\n")
    time.sleep(float(options.get("seconds", 1)))
    if log:
        with log.open("a") as out:
            out.write(f"end {os.getpid()} {time.time()}\n")
    return {"slept": options.get("seconds", 1), "pid": os.getpid()}


@register("test.flaky", department="tax", description="Test only: fails a few times.", options={"fail_times": int})
def flaky(*, application: Application, work_item: WorkItem, options: dict[str, Any]) -> dict[str, Any]:
    if work_item.attempts <= int(options.get("fail_times", 1000)):
        raise RuntimeError(f"department system unavailable (attempt {work_item.attempts})")
    return {"ok": True}


@register("test.backend", department="tax", description="Test only: names its database connection.")
def backend(*, application: Application, work_item: WorkItem, options: dict[str, Any]) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (server_pid,) = cursor.fetchone()
    return {"backend": server_pid, "pid": os.getpid()}


@register("test.outbox_here", department="tax", description="Test only: tasks run here.", options={"log": str})
def outbox_here(*, application: Application, work_item: WorkItem, options: dict[str, Any]) -> dict[str, Any]:
    from workflows.outbox import outbox_enqueue

    outbox_enqueue(task="workflows.test_here_records", kwargs={"log": options["log"]})
    outbox_enqueue(task="workflows.test_here_fails", kwargs={})
    return {"pid": os.getpid()}


@shared_task(name="workflows.test_here_records", run_here_after_commit=True)
def here_records(*, log: str, outbox_id: int | None = None) -> None:
    from workflows.outbox import outbox_confirm

    with Path(log).open("a") as out:
        out.write(f"{os.getpid()}\n")
    outbox_confirm(outbox_id)


@shared_task(name="workflows.test_here_fails", run_here_after_commit=True)
def here_fails(*, outbox_id: int | None = None) -> None:
    raise RuntimeError("the notification service is down")
