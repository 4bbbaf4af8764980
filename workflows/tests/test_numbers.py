"""Readable numbers: unique under concurrency, no row lock that another submit waits on, and
numbers issued before the per-prefix sequences existed are never reused."""

import secrets
import threading

import pytest
from django.db import connection, transaction

from tests.support.concurrency import in_threads
from workflows.models import NumberSequence
from workflows.numbers import number_allocate, sequence_name, sequence_next

pytestmark = pytest.mark.django_db(transaction=True)


def fresh(prefix: str) -> str:
    """A prefix no earlier run used: sequences outlive test transactions (and --reuse-db)."""
    return f"{prefix}{secrets.token_hex(4).upper()}"


def test_numbers_are_unique_and_carry_their_prefix_under_concurrent_submits():
    cnc = fresh("2031-CNC")

    def allocate(index: int) -> list[str]:
        with transaction.atomic():
            return [number_allocate(cnc) for _ in range(5)]

    results = in_threads(8, allocate)
    numbers = [number for result in results for number in result]
    assert len(numbers) == 40
    assert len(set(numbers)) == 40
    assert all(number.startswith(f"{cnc}-") and len(number) == len(cnc) + 7 for number in numbers)


def test_an_open_transaction_holding_a_number_does_not_make_another_submit_wait():
    hld = fresh("2031-HLD")
    holding = threading.Event()
    release = threading.Event()
    held: list[int] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                held.append(sequence_next(hld))
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(30)
        with transaction.atomic():
            # A lock wait would hit this timeout and raise instead of returning a number.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '1s'")
            following = sequence_next(hld)
        assert following > held[0]
    finally:
        release.set()
        holder.join(30)


def test_a_rolled_back_caller_leaves_a_gap_and_never_a_duplicate():
    gap = fresh("2031-GAP")
    first = sequence_next(gap)
    with pytest.raises(RuntimeError), transaction.atomic():
        sequence_next(gap)
        raise RuntimeError("the submit failed after its number was taken")
    assert sequence_next(gap) == first + 2


def test_a_sequence_continues_after_the_numbers_issued_before_it_existed():
    old = fresh("2031-OLD")
    NumberSequence.objects.create(prefix=old, last=41)
    assert number_allocate(old) == f"{old}-000042"


def test_sequence_names_are_readable_and_odd_prefixes_cannot_reach_sql():
    assert sequence_name("2026-MKT") == "number_2026_mkt"
    assert sequence_name("TAXPAYER-2026") == "number_taxpayer_2026"
    odd = sequence_name('2026-x"; DROP TABLE x; --')
    assert odd.startswith("number_x") and odd.isidentifier()
    assert sequence_name("2026-mkt") != sequence_name("2026-MKT")
