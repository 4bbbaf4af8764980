"""The ceiling's "before" script: the captured flow as the global hash chain ran it, with the
audit lock and the read of the last row before every audit insert (bench/ceiling.py)."""

import re

import pytest
from django.db import connection, transaction

from bench.ceiling import CHAIN_LOCK, UNIQUE_DIGITS, UNIQUE_NUMBER, assessment, with_global_chain

EVENT_INSERT = (
    'INSERT INTO "workflows_applicationevent" ("application_id", "kind", "created_at") '
    "VALUES (:r12_id, 'submitted', '2026-12-01T02:00:00+00:00'::timestamptz) "
    'RETURNING "workflows_applicationevent"."id"\n\\gset r30_'
)
ACCESS_INSERT = (
    'INSERT INTO "workflows_dataaccessrecord" ("accessor_id", "applicant_id", "what") '
    "VALUES (7, 7, 'view_application');"
)
OTHER_INSERT = 'INSERT INTO "workflows_application" ("number") VALUES (\'A-1\') RETURNING "workflows_application"."id"'
CAPTURED = [
    "\\set seq :seq + 1",
    "BEGIN;",
    'SELECT "workflows_numbersequence"."last" FROM "workflows_numbersequence" FOR UPDATE;',
    OTHER_INSERT,
    EVENT_INSERT,
    ACCESS_INSERT,
    "COMMIT;",
    ACCESS_INSERT,  # autocommit: a look recorded outside any transaction
]


def test_every_audit_insert_gets_the_lock_and_the_last_row_read_in_its_transaction():
    script = with_global_chain(CAPTURED)
    audit_inserts = [i for i, command in enumerate(script) if command in (EVENT_INSERT, ACCESS_INSERT)]
    assert len(audit_inserts) == 3
    for index in audit_inserts:
        table = "workflows_applicationevent" if script[index] == EVENT_INSERT else "workflows_dataaccessrecord"
        assert script[index - 2] == CHAIN_LOCK
        assert script[index - 1].startswith("SELECT t.id, encode(sha256(") and f"FROM {table} t" in script[index - 1]
        assert "ORDER BY t.id DESC LIMIT 1" in script[index - 1]
    assert script.count(CHAIN_LOCK) == 3
    # The autocommit insert holds the lock in a transaction of its own, as the trigger did.
    assert script[-5:] == ["BEGIN;", CHAIN_LOCK, script[-3], ACCESS_INSERT, "COMMIT;"]


def test_nothing_else_changes():
    script = with_global_chain(CAPTURED)
    without_chain = [
        command for command in script if command != CHAIN_LOCK and not command.startswith("SELECT t.id, encode(")
    ]
    assert without_chain == [*CAPTURED[:-1], "BEGIN;", ACCESS_INSERT, "COMMIT;"]
    assert with_global_chain([OTHER_INSERT, "COMMIT;"]) == [OTHER_INSERT, "COMMIT;"]


@pytest.mark.django_db(transaction=True)
def test_the_added_statements_run_on_the_current_schema():
    added = [c for c in with_global_chain(CAPTURED) if c == CHAIN_LOCK or c.startswith("SELECT t.id")]
    assert connection.vendor == "postgresql", "the bench replays on PostgreSQL: run the tests there (make test)"
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in added:
            cursor.execute(statement.rstrip(";"))
            cursor.fetchall()
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        assert cursor.fetchone()[0] == 1  # held until the transaction ends


def test_the_assessment_compares_c32_with_the_target_and_with_c8():
    after = {"c8": {"tps": 300.0}, "c32": {"tps": 250.0}, "_info": {}}
    before = {"c8": {"tps": 60.0}, "c32": {"tps": 50.0}}
    verdict = assessment(after, before)
    assert verdict["c32_target_tps"] == 235 and verdict["c32_met"] is True
    assert verdict["c32_not_below_c8"] is False
    assert verdict["after_over_before"] == {"c8": 5.0, "c32": 5.0}
    assert assessment({"c32": {"tps": 0}}, {})["c32_met"] is None


def test_every_replays_unique_number_keeps_run_client_and_counter():
    """`_unique` keeps the last UNIQUE_DIGITS digits of `u`: for every run a bench makes (three
    levels, after and before, whole work and applicant: 12; up to 99), every client and the
    first counts of each, the kept digits differ. At run 10 the old formula overflowed to 16
    digits and runs 10–12 wrote the unique values of runs 0–2 (a duplicate key at c32)."""
    match = re.fullmatch(r"\\set u :run \* (\d+) \+ :client_id \* (\d+) \+ :seq", UNIQUE_NUMBER)
    assert match, UNIQUE_NUMBER
    per_run, per_client = int(match.group(1)), int(match.group(2))
    seen = set()
    for run in range(100):
        for client in (0, 1, 31, 999):
            for seq in (1, 2, 10**9):
                u = run * per_run + client * per_client + seq
                seen.add(str(u).zfill(UNIQUE_DIGITS)[-UNIQUE_DIGITS:])
    assert len(seen) == 100 * 4 * 3


def test_the_ceiling_counts_the_flows_after_the_warm_up_and_keeps_the_whole_run_beside_it():
    from bench.ceiling import steady_tps

    progress = (
        "progress: 5.0 s, 23.8 tps, lat 1248.911 ms stddev 361.665, 0 failed\n"
        "progress: 10.0 s, 63.6 tps, lat 516.297 ms stddev 274.854, 0 failed\n"
        "progress: 15.0 s, 89.6 tps, lat 356.108 ms stddev 53.508, 0 failed\n"
        "progress: 20.0 s, 88.4 tps, lat 358.821 ms stddev 52.998, 0 failed\n"
    )
    assert steady_tps(progress, warmup=10) == 89.0  # the intervals ending at 15 and 20 s
    assert steady_tps(progress, warmup=0) == round((23.8 + 63.6 + 89.6 + 88.4) / 4, 1)
    assert steady_tps(progress, warmup=20) is None  # nothing after the warm-up: the caller keeps the whole run
