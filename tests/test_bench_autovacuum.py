"""The bench's autovacuum stand-in (bench/autovacuum.py): on a server with autovacuum off, the load
scenarios' tables are analysed and vacuumed by autovacuum's own rule, so their plans are those a
portal's PostgreSQL would make."""

import time

import pytest
from django.db import connection

from bench import autovacuum

pytestmark = pytest.mark.django_db(transaction=True)

PROBE = "bench_autovacuum_probe"


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _insert(rows: int, start: int = 0) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PROBE} SELECT g, 'x' FROM generate_series(%s::int, %s::int) g", [start + 1, start + rows]
        )
        # Statistics reach the shared counters when a backend goes idle; ask for it now.
        cursor.execute("SELECT pg_stat_force_next_flush()")


def _counted(cursor, rows_at_least: int, timeout: float = 20) -> None:
    """Waits until the server's statistics count the probe's changes (they are reported
    asynchronously, within seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = %s", [PROBE])
        row = cursor.fetchone()
        if row and row[0] >= rows_at_least:
            return
        time.sleep(0.2)
    pytest.fail(f"the statistics never counted {rows_at_least} changes of {PROBE}")


@pytest.fixture
def probe():
    if connection.vendor != "postgresql":
        pytest.skip("autovacuum is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PROBE}")
        cursor.execute(f"CREATE TABLE {PROBE} (id int, v text)")
        cursor.execute(f"ANALYZE {PROBE}")
    standin = autovacuum.StandIn(_database_url(), interval=0.1)
    yield standin
    standin.end()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PROBE}")


def _reltuples() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [PROBE])
        return cursor.fetchone()[0]


def test_a_table_that_grew_past_autovacuums_thresholds_is_analysed_and_vacuumed(probe):
    _insert(5000)
    with probe.connection.cursor() as cursor:
        _counted(cursor, 5000)
        # 5,000 changes against 50 + 0.1 × 0 rows: analyse; 5,000 inserts against 1,000 + 0.2 × 0: vacuum.
        assert (PROBE, True) in autovacuum.due_tables(cursor, probe.parameters)
        assert _reltuples() <= 0  # what the planner believed: an empty table
        analysed, vacuumed = autovacuum.pass_once(cursor, probe.parameters)
    assert analysed >= 1 and vacuumed >= 1
    assert _reltuples() == 5000
    with probe.connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        assert PROBE not in [name for name, _ in autovacuum.due_tables(cursor, probe.parameters)]


def test_a_table_below_the_thresholds_is_left_alone(probe):
    _insert(5000)
    with probe.connection.cursor() as cursor:
        _counted(cursor, 5000)
        autovacuum.pass_once(cursor, probe.parameters)
    _insert(100, start=5000)  # 100 changes against 50 + 0.1 × 5,000 = 550: not yet
    with probe.connection.cursor() as cursor:
        _counted(cursor, 100)
        assert PROBE not in [name for name, _ in autovacuum.due_tables(cursor, probe.parameters)]


def test_the_stand_in_runs_only_where_the_servers_autovacuum_is_off(probe):
    _insert(5000)
    with probe.connection.cursor() as cursor:
        _counted(cursor, 5000)
    probe.begin()
    deadline = time.monotonic() + 20
    while not probe.server_runs_it and probe.analysed == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    probe.end()
    figures = probe.figures()
    if probe.server_runs_it:
        assert figures == {"server_autovacuum": "on", "stand_in": False}
        assert probe.rounds == 0
    else:
        assert figures["stand_in"] is True and figures["server_autovacuum"] == "off"
        assert figures["tables_analysed"] >= 1 and figures["rounds"] >= 1
        assert _reltuples() == 5000
