"""The portal's PostgreSQL connection prepares the statements it runs often (psycopg 3 binds the
values on the server: portal/settings.py), so PostgreSQL parses and plans each of them once per
connection instead of on every run. Half of PostgreSQL's CPU per application went to that
(docs/benchmarks.md)."""

import pytest
from django.db import connection

from services.models import Service

pytestmark = pytest.mark.django_db


def _executions(statement: str) -> tuple[int, int]:
    """How many prepared statements have this text on the connection, and their runs."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), COALESCE(sum(generic_plans + custom_plans), 0) FROM pg_prepared_statements"
            " WHERE NOT from_sql AND statement = %s",
            [statement],
        )
        count, runs = cursor.fetchone()
    return int(count), int(runs)


def test_a_statement_run_often_is_prepared_once_and_reused_for_other_values():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    options = connection.settings_dict["OPTIONS"]
    assert options["server_side_binding"] is True
    threshold = options["prepare_threshold"]
    query = Service.objects.filter(code="any", name_en__startswith="any")
    sql, params = query.query.sql_with_params()
    # As the server sees it: the values travel as parameters $1, $2, never in the text.
    statement = sql % tuple(f"${n}" for n in range(1, len(params) + 1))
    connection.ensure_connection()
    _, runs_before = _executions(statement)
    runs = threshold + 4
    for number in range(runs):
        assert list(Service.objects.filter(code=f"no-such-{number}", name_en__startswith=f"x{number}")) == []
    count, runs_after = _executions(statement)
    assert count == 1  # one statement for every value
    assert runs_after - runs_before >= runs - threshold
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%no-such-%"])
        assert cursor.fetchone()[0] == 0


def test_values_bound_on_the_server_still_read_and_write_every_type_the_portal_uses():
    """JSON, dates and text with quotes or percent signs round-trip unchanged."""
    if connection.vendor != "postgresql":
        pytest.skip("server-side binding is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::jsonb ->> 'name', %s::text, %s::date + 1, %s::int[]",
            ['{"name": "O\'Brien 100%"}', "50% off; DROP TABLE x; --", "2026-12-31", [1, 2, 3]],
        )
        name, text, day, numbers = cursor.fetchone()
    assert name == "O'Brien 100%"
    assert text == "50% off; DROP TABLE x; --"
    assert day.isoformat() == "2027-01-01"
    assert numbers == [1, 2, 3]
