"""Health of the parts the portal depends on, for /healthz and operators."""

from dataclasses import dataclass, field

from django.db import connection

from portal.celery import app as celery_app
from workflows import clock
from workflows.models import Incident
from workflows.outbox import oldest_unsent_age_seconds, over_warn_resends_count
from workflows.transparency.sequencer import log_lag


@dataclass
class Health:
    database: str = "unknown"
    broker: str = "unknown"
    workers: int | str = 0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return self.database == "ok" and self.broker in ("ok", "eager")

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "ok" if self.healthy else "unavailable",
            "database": self.database,
            "broker": self.broker,
            "workers": self.workers,
            **self.extra,
        }


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down", reported by class name
        return f"error: {type(exc).__name__}"
    return "ok"


def check_broker() -> tuple[str, int | str]:
    """Returns the broker's state and the number of workers that answered a ping."""
    if celery_app.conf.task_always_eager:
        return "eager", "eager"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}", 0
    try:
        replies = celery_app.control.ping(timeout=0.5)
    except Exception:  # noqa: BLE001 - the broker answered; a ping failure means no worker seen
        replies = []
    return "ok", len(replies)


def check_engine() -> dict[str, object]:
    """The routing engine's backlog: the oldest outbox row not yet confirmed by its task
    (seconds; grows when the broker or the workers are down), the rows re-sent more than
    ENGINE_OUTBOX_WARN_RESENDS times without confirmation (a task that keeps failing, or a
    queue nothing consumes; informational, like the rest), the open incidents, and the
    transparency log's lag (the age of the oldest audit row not yet in the log; grows while the
    sequencer is stopped, which never holds up a request) and size."""
    try:
        return {
            "outbox_oldest_unsent_seconds": oldest_unsent_age_seconds(),
            "outbox_over_warn_resends": over_warn_resends_count(),
            "open_incidents": Incident.objects.filter(status=Incident.Status.OPEN).count(),
            **check_calendar(),
            **log_lag(),
        }
    except Exception as exc:  # noqa: BLE001 - the database check reports the cause
        return {"engine": f"error: {type(exc).__name__}"}


def check_calendar() -> dict[str, object]:
    """How far the working-day calendar reaches, and a warning 60 days before it ends
    (informational: the portal stays up, but deadlines past the end are refused)."""
    return {"calendar_complete_through": clock.coverage().last, "calendar_warning": clock.coverage_warning()}


def current_health() -> Health:
    health = Health(database=check_database())
    health.broker, health.workers = check_broker()
    if health.database == "ok":
        health.extra.update(check_engine())
    return health
