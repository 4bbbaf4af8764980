"""Readable numbers from named sequences (2026-MKT-000123, the taxpayer serials).

On PostgreSQL each prefix (a department and year, "2026-MKT") has its own database SEQUENCE,
and a number is one `nextval`: it takes no row lock, so concurrent submits never wait on each
other for a number. `nextval` is not transactional: a caller that rolls back does not give its
number back, so numbers are **unique and increasing, not consecutive** (a gap is a submit that
failed or was retried). The sequence of a new prefix is created on first use, once per process,
through a second short autocommit connection, starting after the `NumberSequence` row of the
same prefix if there is one (numbers issued before sequences existed are never reused).

On SQLite (the embedded `make run` default, one writer at a time) the `NumberSequence` row is
incremented by one UPDATE inside the caller's transaction, as a single writer needs nothing more.
"""

import hashlib
import logging
import re

from django.db import DatabaseError, IntegrityError, connection, transaction

from workflows.models import NumberSequence

logger = logging.getLogger(__name__)

READABLE_PREFIX = re.compile(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*")
_created: set[str] = set()  # sequences this process knows exist (they are never dropped)


def sequence_name(prefix: str) -> str:
    """The database sequence of a prefix: readable for an operator when the prefix allows it."""
    if READABLE_PREFIX.fullmatch(prefix) and prefix == prefix.upper():
        return "number_" + prefix.lower().replace("-", "_")
    return "number_x" + hashlib.sha256(prefix.encode()).hexdigest()[:24]


def _sequence_create(prefix: str, name: str) -> None:
    """Create the prefix's sequence outside the caller's transaction (so the caller's rollback
    cannot undo it behind this process's back), continuing after any numbers already issued."""
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute(
                f"SELECT last FROM {NumberSequence._meta.db_table} WHERE prefix = %s",  # noqa: S608
                [prefix],
            )
            row = cursor.fetchone()
            start = (int(row[0]) if row else 0) + 1
            try:
                cursor.execute(f'CREATE SEQUENCE IF NOT EXISTS "{name}" START WITH {start} MINVALUE 1')
            except (IntegrityError, DatabaseError):
                # Two processes created it at the same moment: PostgreSQL reports the loser's
                # catalogue insert as a duplicate; the sequence exists either way.
                logger.info("number sequence %s was created concurrently", name)
    finally:
        other.close()
    _created.add(name)


def _increment_row(prefix: str) -> int | None:
    # One statement: the increment takes the row lock (held until commit) and returns the value.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {NumberSequence._meta.db_table} SET last = last + 1 WHERE prefix = %s RETURNING last",  # noqa: S608
            [prefix],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _next_row(prefix: str) -> int:
    last = _increment_row(prefix)
    if last is None:  # the first number of this prefix (e.g. a new year)
        try:
            with transaction.atomic():
                NumberSequence.objects.get_or_create(prefix=prefix)
        except IntegrityError:
            pass  # created meanwhile by a concurrent caller
        last = _increment_row(prefix)
        assert last is not None
    return last


def sequence_next(prefix: str) -> int:
    """The next number of a named sequence (unique; a rolled-back caller leaves a gap)."""
    if connection.vendor != "postgresql":
        return _next_row(prefix)
    name = sequence_name(prefix)
    if name not in _created:
        _sequence_create(prefix, name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [f'"{name}"'])
        return int(cursor.fetchone()[0])


def number_allocate(prefix: str) -> str:
    """The next readable application number for a prefix: `<prefix>-000123`."""
    return f"{prefix}-{sequence_next(prefix):06d}"
