"""The sequencer's integration rate: `python -m bench.sequencer [--rows N] [--batch B]`.

Run it against a scratch PostgreSQL database (DATABASE_URL; it migrates it and adds rows that
cannot be removed: audit rows are append-only). It inserts N data-access records and N/4
events in one statement each (the insert trigger queues them, as in production), then times
`log_integrate` until the queue is empty and prints rows/s, batches and the tree size as JSON.
Not a test: a measurement (docs/benchmarks.md).
"""

import argparse
import json
import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


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
    events = options.rows // 4 if application else 0
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO workflows_dataaccessrecord (accessor_id, applicant_id, what, field_key, created_at)"
            " SELECT %s, %s, 'view_application', 'n' || n, now() FROM generate_series(1, %s) AS n",
            [user.pk, user.pk, options.rows],
        )
        if application:
            cursor.execute(
                "INSERT INTO workflows_applicationevent (application_id, kind, from_status, to_status, reason, payload,"
                " created_at) SELECT %s, 'bench', '', '', 'n' || n, jsonb_build_object('n', n), now()"
                " FROM generate_series(1, %s) AS n",
                [application.pk, events],
            )
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
