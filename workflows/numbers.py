"""Readable numbers from named sequences (2026-MKT-000123, the taxpayer serials).

A sequence row is incremented by one UPDATE that takes its row lock until the caller's
transaction commits: numbers are never duplicated, and a rolled-back caller gives its number
back. A sequence that does not exist yet (a new prefix, a new year) is created on first use.
"""

from django.db import IntegrityError, connection, transaction

from workflows.models import NumberSequence


def _increment(prefix: str) -> int | None:
    # One statement: the increment takes the row lock (held until commit) and returns the value.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {NumberSequence._meta.db_table} SET last = last + 1 WHERE prefix = %s RETURNING last",  # noqa: S608
            [prefix],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def sequence_next(prefix: str) -> int:
    """The next number of a named sequence, inside the caller's transaction."""
    last = _increment(prefix)
    if last is None:  # the first number of this prefix (e.g. a new year)
        try:
            with transaction.atomic():
                NumberSequence.objects.get_or_create(prefix=prefix)
        except IntegrityError:
            pass  # created meanwhile by a concurrent caller
        last = _increment(prefix)
        assert last is not None
    return last


def number_allocate(prefix: str) -> str:
    """The next readable application number for a prefix: `<prefix>-000123`."""
    return f"{prefix}-{sequence_next(prefix):06d}"
