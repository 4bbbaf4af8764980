"""Scenario `growth`: the size of the tables per million applications, measured
(docs/operations.md, "Growth").

    DATABASE_URL=postgres://…/scratch python -m bench.growth --sizes 100000 1000000 [--integrate-log]

On a scratch PostgreSQL database (it migrates it and adds rows that cannot be removed):

1. One real journey runs through the engine in-process (bench/engine.py: submit → three
   parallel reviews → a final review → approved; start task, notifications and e-mail deliveries
   run after each commit), and its rows in the growing tables are kept as templates: application
   events, notifications, notification deliveries, outbox rows.
2. The bench loader (bench/loader.py) COPY-loads applications up to each size: applicants (one
   per ten applications), groups, applications and two work items each. For every loaded
   application the journey's rows are COPY-written again, pointing at that application, its
   applicant and its department's clerk, at the same offsets from its submission; plus one
   data-access record per review decided (4), as the clerk's item page writes (modelled: the
   journey drives the engine's actions, not its pages).
3. The sizes (pg_total_relation_size, partitions summed into their table) are reported per table
   and per million applications; with `--integrate-log` the transparency log's sequencer first
   integrates every queued row (leaves and nodes measured, not estimated).
4. `growth_prune` runs as it would once every retention has passed for these applications
   (its clock moved past NOTIFICATION_RETENTION_DAYS), the pruned tables are rewritten (VACUUM
   FULL, so the size is what the kept rows need, as a table that reuses its freed space holds
   steady at) and measured again.

Prints JSON; writes nothing else.
"""

import argparse
import json
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

REVIEWS_PER_APPLICATION = 4
GROWING = (
    "workflows_applicationevent",
    "workflows_dataaccessrecord",
    "workflows_notification",
    "workflows_notificationdelivery",
    "workflows_outboxmessage",
    "workflows_logpending",
    "workflows_logleaf",
    "workflows_lognode",
)


def journey_templates() -> dict[str, Any]:
    """The growing tables' rows of one real journey, and that journey's application."""
    from bench import engine
    from workflows.models import (
        Application,
        ApplicationEvent,
        Notification,
        NotificationDelivery,
        OutboxMessage,
    )

    engine.run(applications=1, warmup=1)  # the cast exists, caches are warm
    tables = (Application, ApplicationEvent, Notification, NotificationDelivery, OutboxMessage)
    marks = {model: model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0 for model in tables}
    result = engine.run(applications=1, warmup=0)
    if result["failures"]:
        raise SystemExit(f"the template journey failed: {result['failures']}")
    application = Application.objects.get(pk__gt=marks[Application])
    new = {model: list(model.objects.filter(pk__gt=marks[model]).order_by("pk").values())
           for model in (ApplicationEvent, Notification, NotificationDelivery, OutboxMessage)}  # fmt: skip
    return {
        "application": application,
        "events": new[ApplicationEvent],
        "notifications": new[Notification],
        "deliveries": new[NotificationDelivery],
        "outbox": new[OutboxMessage],
    }


def _applications_without_rows(batch: int = 20_000) -> Iterator[list[tuple]]:
    """The loaded applications that have no growth rows yet: (id, applicant, submitted_at,
    examine item, department), in batches (all read first: the writes commit per batch)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id, a.applicant_id, a.submitted_at, w.id, w.department_id FROM workflows_application a "
            "JOIN workflows_workitem w ON w.application_id = a.id AND w.step_key = 'examine' "
            "WHERE a.number LIKE 'BQ%%' AND NOT EXISTS "
            "(SELECT 1 FROM workflows_applicationevent e WHERE e.application_id = a.id) ORDER BY a.id"
        )
        rows = cursor.fetchall()
    for start in range(0, len(rows), batch):
        yield rows[start : start + batch]


def write_growth_rows(templates: dict[str, Any]) -> dict[str, int]:
    """COPY-writes the journey's rows for every loaded application that has none yet."""
    from django.db import transaction

    from accounts.models import Membership
    from bench.loader import _next_id, _sync_sequence, copy_rows
    from workflows.models import (
        ApplicationEvent,
        DataAccessRecord,
        Notification,
        NotificationDelivery,
        OutboxMessage,
    )

    origin = templates["application"]
    base = origin.submitted_at
    applicant = origin.applicant_id
    clerk_of = dict(
        Membership.objects.filter(user__username__startswith="bench.clerk.").values_list("department_id", "user_id")
    )
    counts = {"applications": 0, "events": 0, "notifications": 0, "deliveries": 0, "outbox": 0, "access": 0}
    event_columns = ["application_id", "work_item_id", "actor_id", "kind", "from_status", "to_status", "reason",
                     "payload", "created_at"]  # fmt: skip
    note_columns = ["id", "user_id", "application_id", "event", "context", "language", "subject", "body", "sms_text",
                    "link", "dedupe_key", "attachments", "created_at", "read_at"]  # fmt: skip
    delivery_columns = ["notification_id", "channel", "state", "attempts", "last_error", "next_attempt_at", "sent_at",
                        "created_at", "updated_at"]  # fmt: skip
    outbox_columns = ["task", "kwargs", "queue", "created_at", "sent_at", "confirmed_at", "attempts", "last_error",
                      "next_attempt_at", "traceparent"]  # fmt: skip
    access_columns = ["accessor_id", "department_id", "applicant_id", "application_id", "work_item_id", "what",
                      "field_key", "created_at"]  # fmt: skip

    def at(moment, submitted):
        return None if moment is None else submitted + (moment - base)

    for chunk in _applications_without_rows():
        with transaction.atomic():
            copy_rows(ApplicationEvent, event_columns, (
                (app, item if e["work_item_id"] else None,
                 None if e["actor_id"] is None else (owner if e["actor_id"] == applicant else clerk_of[dept]),
                 e["kind"], e["from_status"], e["to_status"], e["reason"], e["payload"], at(e["created_at"], sub))
                for app, owner, sub, item, dept in chunk for e in templates["events"]
            ))  # fmt: skip
            first_note = _next_id(Notification)
            per_app = len(templates["notifications"])
            note_ids = {n["id"]: k for k, n in enumerate(templates["notifications"])}
            copy_rows(Notification, note_columns, (
                (first_note + i * per_app + k, owner if n["user_id"] == applicant else clerk_of[dept], app,
                 n["event"], n["context"], n["language"], n["subject"], n["body"], n["sms_text"], n["link"],
                 None if n["dedupe_key"] is None else f"{n['dedupe_key']}:bq{app}"[:200], n["attachments"],
                 at(n["created_at"], sub), None)
                for i, (app, owner, sub, item, dept) in enumerate(chunk)
                for k, n in enumerate(templates["notifications"])
            ))  # fmt: skip
            _sync_sequence(Notification)
            copy_rows(NotificationDelivery, delivery_columns, (
                (first_note + i * per_app + note_ids[d["notification_id"]], d["channel"], d["state"], d["attempts"],
                 d["last_error"], None, at(d["sent_at"], sub), at(d["created_at"], sub), at(d["updated_at"], sub))
                for i, (app, owner, sub, item, dept) in enumerate(chunk) for d in templates["deliveries"]
            ))  # fmt: skip
            copy_rows(OutboxMessage, outbox_columns, (
                (o["task"], o["kwargs"], o["queue"], at(o["created_at"], sub), at(o["sent_at"], sub),
                 at(o["confirmed_at"], sub), o["attempts"], o["last_error"], at(o["next_attempt_at"], sub),
                 o["traceparent"])
                for app, owner, sub, item, dept in chunk for o in templates["outbox"]
            ))  # fmt: skip
            copy_rows(DataAccessRecord, access_columns, (
                (clerk_of[dept], dept, owner, app, item, "view_application", "", sub + timedelta(hours=1 + r))
                for app, owner, sub, item, dept in chunk for r in range(REVIEWS_PER_APPLICATION)
            ))  # fmt: skip
        n = len(chunk)
        counts["applications"] += n
        counts["events"] += n * len(templates["events"])
        counts["notifications"] += n * per_app
        counts["deliveries"] += n * len(templates["deliveries"])
        counts["outbox"] += n * len(templates["outbox"])
        counts["access"] += n * REVIEWS_PER_APPLICATION
    return counts


def sizes() -> dict[str, dict[str, int]]:
    """Bytes and rows per table of ours (a partitioned table: its partitions summed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute(
            """
            SELECT coalesce(parent.relname, c.relname) AS name,
                   sum(pg_total_relation_size(c.oid))::bigint, sum(greatest(c.reltuples, 0))::bigint
              FROM pg_class c
              JOIN pg_namespace ns ON ns.oid = c.relnamespace AND ns.nspname = current_schema()
              LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
              LEFT JOIN pg_class parent ON parent.oid = i.inhparent
             WHERE c.relkind = 'r'
             GROUP BY 1 ORDER BY 2 DESC
            """
        )
        return {name: {"bytes": size, "rows": rows} for name, size, rows in cursor.fetchall()}


def per_million(table_sizes: dict[str, dict[str, int]], applications: int) -> dict[str, float]:
    return {name: round(v["bytes"] / applications * 1_000_000 / 2**30, 3) for name, v in table_sizes.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--departments", type=int, default=20)
    parser.add_argument("--integrate-log", action="store_true", help="Integrate the queued rows into the log.")
    parser.add_argument("--prune", action="store_true", help="Then prune as once every retention has passed.")
    options = parser.parse_args()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from bench import engine, loader
    from workflows.growth.pruning import growth_prune
    from workflows.models import Application
    from workflows.transparency.sequencer import log_integrate

    if connection.vendor != "postgresql":
        raise SystemExit("bench.growth measures PostgreSQL: set DATABASE_URL to a scratch database")
    call_command("migrate", "--noinput", verbosity=0)
    if not Application.objects.exists():
        call_command("seed_demo", verbosity=0)
    engine.calendar_load()
    templates = journey_templates()
    report: dict[str, Any] = {
        "journey_rows_per_application": {
            "events": len(templates["events"]),
            "notifications": len(templates["notifications"]),
            "deliveries": len(templates["deliveries"]),
            "outbox": len(templates["outbox"]),
            "access_records (modelled)": REVIEWS_PER_APPLICATION,
        },
        "sizes": {},
    }
    for size in options.sizes:
        started = time.monotonic()
        loaded = loader.load(total=size, departments=options.departments)
        written = write_growth_rows(templates)
        figures: dict[str, Any] = {"load": loaded, "growth_rows": written}
        if options.integrate_log:
            log_started = time.monotonic()
            figures["log_integrated"] = log_integrate(batch_size=20_000, max_seconds=24 * 3600)
            figures["log_seconds"] = round(time.monotonic() - log_started, 1)
        applications = loader.loaded_count()
        figures["applications"] = applications
        figures["tables"] = sizes()
        figures["gib_per_million"] = per_million(figures["tables"], applications)
        figures["seconds"] = round(time.monotonic() - started, 1)
        report["sizes"][str(size)] = figures
        print(json.dumps({size: {k: v for k, v in figures.items() if k != "tables"}}, default=str), flush=True)
    if options.prune:
        started = time.monotonic()
        later = timezone.now() + timedelta(days=731)
        pruned = growth_prune(now=later, batch=10_000, max_seconds=24 * 3600)
        with connection.cursor() as cursor:
            # Twice, a while apart: a transaction still open anywhere when the first ran keeps the
            # deleted rows it could still see.
            for _ in range(2):
                for table in ("workflows_outboxmessage", "workflows_notificationdelivery", "workflows_notification"):
                    cursor.execute(f'VACUUM FULL "{table}"')
                time.sleep(30)
        applications = loader.loaded_count()
        after = sizes()
        report["after_prune"] = {
            "pruned": pruned.__dict__,
            "seconds": round(time.monotonic() - started, 1),
            "tables": after,
            "gib_per_million": per_million(after, applications),
        }
    print(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
