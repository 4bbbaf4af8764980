"""Monthly partitions of the audit tables on PostgreSQL (migration 0031_audit_partitions).

Application events and data-access records are evidence: UPDATE and DELETE are refused by
trigger, and every row is a leaf of the transparency log, so they are never pruned. Partitioned
by month of created_at (UTC), each month's rows and indexes stay apart: old months are no longer
written, so vacuum and index maintenance have nothing left to do there, and an operator can move
them to cheaper storage. No partition is ever dropped or detached by the portal.

`audit_partitions_ensure` (daily, from beat; `manage.py audit_partitions` by hand) makes the
partitions of the current month and the AUDIT_PARTITION_MONTHS_AHEAD months after it that do
not exist yet. Each is made under a short lock_timeout, so it never queues the writers behind a
long transaction: it gives up and the next day's run tries again. Until its month has a
partition, a row goes to the default partition; a month whose rows already began there keeps
them there (they cannot be moved without deleting evidence) and is reported at ERROR.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

AUDIT_TABLES = ("workflows_applicationevent", "workflows_dataaccessrecord")
LOCK_TIMEOUT = "2s"
# SQLSTATEs: the month is inside an existing partition (the first one, p0, ends at the month
# after the migration ran); the default partition already holds rows of that month.
OVERLAP = "42P17"
DEFAULT_HOLDS_ROWS = "23514"


@dataclass
class PartitionReport:
    created: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def month_start(year: int, month: int) -> datetime:
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, start: datetime) -> str:
    return f"{table}_y{start:%Y}m{start:%m}"


def is_partitioned(table: str) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def partitions_of(table: str) -> list[str]:
    """The table's partitions, by name (empty on SQLite or for a plain table)."""
    if not is_partitioned(table):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname",
            [table],
        )
        return [name for (name,) in cursor.fetchall()]


def audit_partitions_ensure(*, months_ahead: int | None = None, today: date | None = None) -> PartitionReport:
    """Makes the missing monthly partitions from this month to `months_ahead` months after it."""
    report = PartitionReport()
    if connection.vendor != "postgresql":
        return report
    ahead = settings.AUDIT_PARTITION_MONTHS_AHEAD if months_ahead is None else months_ahead
    today = today or timezone.now().astimezone(UTC).date()  # local-date: partitions are by UTC month
    for table in AUDIT_TABLES:
        if not is_partitioned(table):
            continue
        existing = set(partitions_of(table))
        for offset in range(ahead + 1):
            start = month_start(today.year, today.month + offset)
            name = partition_name(table, start)
            if name in existing:
                continue
            end = month_start(start.year, start.month + 1)
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                    # DDL takes no bound parameters: the bounds are dates this function made.
                    cursor.execute(
                        f'CREATE TABLE "{name}" PARTITION OF "{table}"'
                        f" FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                    )
            except DatabaseError as error:
                code = getattr(getattr(error, "__cause__", None), "sqlstate", None)
                if code == OVERLAP:
                    continue  # inside the first partition: nothing to make
                report.failed.append(name)
                if code == DEFAULT_HOLDS_ROWS:
                    logger.error(
                        "audit partition %s not made: the default partition already holds rows of that month "
                        "(they stay there; run audit_partitions more often or with more months ahead)",
                        name,
                    )
                else:
                    logger.warning("audit partition %s not made yet error=%s", name, error)
                continue
            report.created.append(name)
            logger.info("audit partition %s made from %s to %s (UTC)", name, start.isoformat(), end.isoformat())
    return report
