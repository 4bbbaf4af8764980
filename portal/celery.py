"""The Celery application. Only this module knows the app; our code uses @shared_task."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Tracing (portal/tracing.py) starts in each process that runs tasks, after the fork: a span
# exporter's thread does not survive one.
@signals.worker_process_init.connect(weak=False)
def trace_worker_process(**_: object) -> None:
    from portal.tracing import tracing_configure

    tracing_configure(service="onedoor-worker")


@signals.worker_init.connect(weak=False)
def trace_unforked_worker(sender=None, **_: object) -> None:
    """A worker whose pool does not fork (solo, threads) gets no worker_process_init."""
    # Still the configured name here ("prefork", "solo", "threads") or a class.
    if "prefork" not in str(getattr(sender, "pool_cls", "prefork")).lower():
        from portal.tracing import tracing_configure

        tracing_configure(service="onedoor-worker")


@signals.task_prerun.connect(weak=False)
@signals.task_postrun.connect(weak=False)
def close_old_database_connections(sender=None, **_: object) -> None:
    """Around each task, what Django does around each request: a connection that broke, or
    outlived CONN_MAX_AGE, is closed (the next query opens a new one); a live one is kept.
    Not for a task run eagerly inside a request or a test: that connection is the caller's."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@signals.worker_init.connect(weak=False)
def import_document_libraries(**_: object) -> None:
    """Before the pool forks, so that every child shares them (documents/libraries.py)."""
    from documents.libraries import document_libraries_import

    document_libraries_import()


@signals.beat_init.connect(weak=False)
def trace_beat(**_: object) -> None:
    from portal.tracing import tracing_configure

    tracing_configure(service="onedoor-beat")
