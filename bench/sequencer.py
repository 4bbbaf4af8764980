"""The sequencer's integration rate: `python -m bench.sequencer [--rows N] [--batch B]`; and,
for `make bench`, its lag under the submit load (`UnderLoad`) and that rate on a scratch
database (`capacity`).

Run it against a scratch PostgreSQL database (DATABASE_URL; it migrates it and adds rows that
cannot be removed: audit rows are append-only). It inserts N data-access records and N/4
events in one statement each (the insert trigger queues them, as in production), then times
`log_integrate` until the queue is empty and prints rows/s, batches and the tree size as JSON.
Not a test: a measurement (docs/benchmarks.md).
"""

# ruff: noqa: S603 - a fixed command line
import argparse
import json
import os
import subprocess
import threading
import time
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


# Per row: the time from its insert (the row's created_at, taken when the user's transaction
# wrote it) to its integration (its leaf's integrated_at), for the rows written in a window.
ROW_LAG = """
SELECT EXTRACT(EPOCH FROM l.integrated_at - r.created_at) * 1000 FROM workflows_logleaf l
  JOIN {table} r ON r.id = l.row_id WHERE l.source = %s AND r.created_at >= to_timestamp(%s)
  AND r.created_at < to_timestamp(%s)
"""
LAG_SOURCES = (("workflows_applicationevent", "application_event"), ("workflows_dataaccessrecord", "data_access"))


class UnderLoad(threading.Thread):
    """While a load runs on the bench stack (whose beat and worker run the real sequencer on its
    `transparency` queue), samples every `interval` seconds the tree size and the age of the
    oldest row still queued; `finish` then waits for the queue to drain and measures each row's
    insert → integration lag over the window."""

    def __init__(self, database_url: str, *, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        import psycopg

        self.connection = psycopg.connect(database_url)
        self.connection.autocommit = True
        self.interval = interval
        self.samples: list[tuple[float, int, float]] = []  # wall time, tree size, oldest queued age (s)
        self._stop_event = threading.Event()

    def sample(self) -> tuple[float, int, float]:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT size FROM workflows_loghead WHERE id = 1),"
                " (SELECT EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)) FROM workflows_logpending),"
                " (SELECT count(*) FROM workflows_logpending)"
            )
            size, age, _ = cursor.fetchone()
        return time.time(), int(size or 0), float(age or 0.0)

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.samples.append(self.sample())

    def finish(self, *, start: float, end: float, drain_seconds: float = 90) -> dict[str, Any]:
        """Figures for the rows written in [start, end) (wall-clock seconds since the epoch)."""
        self._stop_event.set()
        self.join(timeout=5)
        deadline = time.monotonic() + drain_seconds
        while self.sample()[2] > 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        from bench.stats import percentile

        lags: list[float] = []
        with self.connection.cursor() as cursor:
            for table, source in LAG_SOURCES:
                cursor.execute(ROW_LAG.format(table=table), [source, start, end])
                lags.extend(float(row[0]) for row in cursor.fetchall())
            cursor.execute("SELECT count(*) FROM workflows_logpending")
            (still_queued,) = cursor.fetchone()
            cursor.execute(
                "SELECT count(*) FROM workflows_logleaf WHERE integrated_at >= to_timestamp(%s)"
                " AND integrated_at < to_timestamp(%s)",
                [start, end],
            )
            (integrated,) = cursor.fetchone()
        self.connection.close()
        window = [s for s in self.samples if start <= s[0] < end]
        seconds = max(end - start, 1e-9)
        return {
            # Rows the sequencer integrated in the window, whatever their age; under this load it
            # integrates what arrives (rows_written_per_s), so this is not its capacity.
            "rows_per_s": round(integrated / seconds, 1),
            "rows_written_per_s": round(len(lags) / seconds, 1),
            "rows_in_window": len(lags),
            "lag_p50_ms": round(percentile(lags, 50), 1),
            "lag_p95_ms": round(percentile(lags, 95), 1),
            "lag_max_ms": round(max(lags), 1) if lags else 0.0,
            "oldest_queued_max_s": round(max((s[2] for s in window), default=0.0), 2),
            "still_queued_after_drain": still_queued,
            "samples": len(window),
        }


def capacity(*, database_url: str, rows: int, cwd: str, python: str, env: dict[str, str]) -> dict[str, Any]:
    """`python -m bench.sequencer` on a scratch database (migrated by it): rows/s when the
    queue is full, not limited by how fast rows arrive."""
    done = subprocess.run(
        [python, "-m", "bench.sequencer", "--rows", str(rows)],
        cwd=cwd,
        env={**env, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    start = done.stdout.find("{")
    if done.returncode != 0 or start < 0:
        return {"error": (done.stderr or done.stdout)[-500:]}
    return json.loads(done.stdout[start:])


def rows_queue(*, accessor_id: int, application_id: int | None, rows: int) -> int:
    """Queue `rows` access records (and a quarter as many events of one application, if given)
    for the sequencer, written as the product writes them; returns the number of rows queued."""
    from django.db import connection

    events = rows // 4 if application_id else 0
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO workflows_dataaccessrecord (accessor_id, applicant_id, what, field_key, visible, created_at)"
            " SELECT %s, %s, 'view_application', 'n' || n, '{}'::jsonb, now() FROM generate_series(1, %s) AS n",
            [accessor_id, accessor_id, rows],
        )
        if events:
            cursor.execute(
                "INSERT INTO workflows_applicationevent (application_id, kind, from_status, to_status, reason, payload,"
                " created_at) SELECT %s, 'bench', '', '', 'n' || n, jsonb_build_object('n', n), now()"
                " FROM generate_series(1, %s) AS n",
                [application_id, events],
            )
    return rows + events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=None)
    options = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from workflows.models import Application, Checkpoint, LogHead
    from workflows.transparency.sequencer import log_integrate

    if connection.vendor != "postgresql":
        raise SystemExit("bench.sequencer measures PostgreSQL: set DATABASE_URL to a scratch database")
    call_command("migrate", "--noinput", verbosity=0)
    log_integrate()  # whatever was queued before: not part of the measurement
    user, _ = User.objects.get_or_create(username="bench.sequencer", defaults={"display_name": "Bench"})
    application = Application.objects.order_by("id").first()
    queued = rows_queue(accessor_id=user.pk, application_id=application.pk if application else None, rows=options.rows)
    size_before = LogHead.objects.get().size
    checkpoints_before = Checkpoint.objects.count()
    started = time.perf_counter()
    integrated = 0
    while True:
        done = log_integrate(batch_size=options.batch, max_seconds=3600)
        integrated += done
        if not done:
            break
    seconds = time.perf_counter() - started
    if integrated < queued:
        raise SystemExit(f"the sequencer integrated {integrated} of the {queued} rows queued")
    result = {
        "rows": integrated,
        "seconds": round(seconds, 2),
        "rows_per_second": round(integrated / seconds) if seconds else None,
        "batch_size": options.batch or settings.TRANSPARENCY_BATCH_SIZE,
        "checkpoints": Checkpoint.objects.count() - checkpoints_before,
        "tree_size_before": size_before,
        "tree_size_after": LogHead.objects.get().size,
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
