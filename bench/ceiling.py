# ruff: noqa: S603 - a fixed pgbench command line
"""Scenario 2: the database-only ceiling of this machine for one application.

The SQL statements the application executes for one flow (bench/flow.py: draft, upload,
attach, answer, submit) are captured in-process through Django's execute_wrapper, with the
transaction boundaries Django drew (BEGIN/COMMIT). The flow is captured twice; parameters that
are the same both times stay literal, ids returned by an INSERT become pgbench variables
(`\\gset`), and strings that differ (numbers, keys, hashes, file names) become unique per run.
The script is then replayed with pgbench at the same concurrency levels.
"""

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection
from django.test import Client
from psycopg2.extensions import AsIs

from bench import flow
from bench.config import OUT, Config
from bench.fixtures import id_card_of

SAVEPOINT = re.compile(r'"s\d+_x\d+"')
UNIQUE_DIGITS = 15


@dataclass
class Statement:
    sql: str  # the template, with %s placeholders; or BEGIN / COMMIT / ROLLBACK
    params: Any = None
    returned: list[tuple] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    request: str = ""

    @property
    def shape(self) -> str:
        return SAVEPOINT.sub('"sp"', self.sql)


class Recorder:
    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self.in_transaction = False
        self.request = ""

    def __call__(self, execute, sql, params, many, context):
        if not connection.get_autocommit() and not self.in_transaction:
            self.statements.append(Statement("BEGIN", request=self.request))
            self.in_transaction = True
        result = execute(sql, params, many, context)
        for one in params if many else [params]:
            statement = Statement(sql, one, request=self.request)
            cursor = context["cursor"].cursor
            if not many and "RETURNING" in sql and cursor.description:
                statement.returned = cursor.fetchall()
                statement.columns = [column.name for column in cursor.description]
                cursor.scroll(0, mode="absolute")  # give Django its rows back
            self.statements.append(statement)
        return result

    def ended(self, marker: str) -> None:
        if self.in_transaction:
            self.statements.append(Statement(marker, request=self.request))
            self.in_transaction = False


def _client_call(client: Client, recorder: Recorder):
    def call(method: str, path: str, name: str, *, json: Any = None, body: bytes | None = None,
             content_type: str | None = None, headers: dict | None = None) -> tuple[int, dict]:  # fmt: skip
        import json as jsonlib

        recorder.request = name
        if json is not None:
            data, content_type = jsonlib.dumps(json), "application/json"
        else:
            data = body or b""
        response = client.generic(method, path, data=data, content_type=content_type or "", headers=headers or {})
        try:
            parsed = response.json()
        except ValueError:
            parsed = {}
        return response.status_code, parsed

    return call


def separate_id_ranges() -> None:
    """Moves every table's id sequence to its own range (table k from k × 10⁷), so an id
    returned by one INSERT is never equal to another table's id or to a counter: a captured
    literal that equals a returned id is then that id, not a coincidence."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.relname FROM pg_class s WHERE s.relkind = 'S' AND s.relnamespace = 'public'::regnamespace "
            "ORDER BY s.relname"
        )
        sequences = [row[0] for row in cursor.fetchall()]
        for k, name in enumerate(sequences, start=1):
            cursor.execute("SELECT setval(%s, GREATEST((SELECT last_value FROM " + f'"{name}"' + "), %s))",  # noqa: S608
                           [name, k * 10_000_000])  # fmt: skip


def capture(client: Client, user, lease_pdf: bytes, serial: int) -> list[Statement]:
    recorder = Recorder()
    call = _client_call(client, recorder)
    id_card = id_card_of(user)
    original_commit, original_rollback = connection._commit, connection._rollback

    def commit() -> None:
        original_commit()
        recorder.ended("COMMIT")

    def rollback() -> None:
        original_rollback()
        recorder.ended("ROLLBACK")

    connection._commit, connection._rollback = commit, rollback  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(recorder):
            flow.apply_once(call, id_card=id_card, lease_pdf=lease_pdf, serial=serial)
    finally:
        connection._commit, connection._rollback = original_commit, original_rollback  # type: ignore[method-assign]
    recorder.ended("COMMIT")
    return recorder.statements


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unique(value: str) -> AsIs:
    """The same length as the captured string, its tail replaced by the run's unique number."""
    keep = max(0, len(value) - UNIQUE_DIGITS)
    width = min(len(value), UNIQUE_DIGITS)
    head = value[:keep].replace("'", "''")
    return AsIs(f"('{head}' || right(lpad((:u)::text, {UNIQUE_DIGITS}, '0'), {width}))")


def build_script(first: list[Statement], second: list[Statement]) -> tuple[str, dict[str, Any]]:
    if [s.shape for s in first] != [s.shape for s in second]:
        raise RuntimeError("the two captured flows ran different statements; the ceiling cannot be parameterised")
    cursor = connection.cursor().cursor
    lines = ["\\set seq :seq + 1", "\\set u :run * 100000000000000 + :client_id * 100000000000 + :seq"]
    variables_a: dict[int, str] = {}
    variables_b: dict[int, str] = {}
    per_request: dict[str, int] = {}
    for index, (a, b) in enumerate(zip(first, second, strict=True)):
        if a.sql in ("BEGIN", "COMMIT", "ROLLBACK"):
            lines.append(a.sql + ";")
            continue
        per_request[a.request] = per_request.get(a.request, 0) + 1
        params = a.params
        if params is not None:
            adapted = []
            for pa, pb in zip(list(a.params), list(b.params), strict=True):
                if pa == pb:
                    adapted.append(pa)
                elif _is_int(pa) and pa in variables_a and variables_b.get(pb) == variables_a[pa]:
                    adapted.append(AsIs(variables_a[pa]))
                elif isinstance(pa, str):
                    adapted.append(_unique(pa))
                else:
                    adapted.append(pa)
            text = cursor.mogrify(a.sql, adapted).decode()
        else:
            text = a.sql
        if len(a.returned) == 1 and len(b.returned) == 1:
            prefix = f"r{index}_"
            for column, va, vb in zip(a.columns, a.returned[0], b.returned[0], strict=True):
                if _is_int(va):
                    variables_a[va] = variables_b[vb] = f":{prefix}{column}"
            lines.append(text.rstrip(";") + "\n\\gset " + prefix)
        else:
            lines.append(text.rstrip(";") + ";")
    statements = sum(per_request.values())
    return "\n".join(lines) + "\n", {"statements": statements, "statements_by_request": per_request}


def replay(config: Config, script: Path, *, clients: int, run: int, seconds: int) -> dict[str, Any]:
    argv = ["pgbench", "-h", config.pg_host, "-p", str(config.pg_port), "-U", config.pg_user, "-n", "-M", "simple",
            "-f", str(script), "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
            "-D", f"run={run}", "-D", "seq=0", config.db_name]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120, check=False)
    (OUT / f"pgbench-c{clients}.out").write_text(done.stdout + done.stderr)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if not tps:
        return {"tps": 0, "error": (done.stderr or done.stdout)[-500:]}
    return {
        "tps": round(float(tps.group(1)), 1),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "failed": int(failed.group(1)) if failed else 0,
        "exit_code": done.returncode,
    }


def ceiling(config: Config, *, user, lease_pdf: bytes) -> dict[str, Any]:
    separate_id_ranges()
    client = Client()
    client.force_login(user)  # one session for the three captures: its key stays a constant
    capture(client, user, lease_pdf, 900_001)  # warm: first-use caches
    first = capture(client, user, lease_pdf, 900_002)
    second = capture(client, user, lease_pdf, 900_003)
    text, info = build_script(first, second)
    script = OUT / "ceiling.sql"
    script.write_text(text)
    (OUT / "ceiling-capture.json").write_text(
        json.dumps([{"request": s.request, "sql": s.sql, "params": repr(s.params)} for s in first], indent=1)
    )
    seconds = config.ceiling_seconds or config.seconds
    levels = {}
    for run, clients in enumerate(config.levels, start=1):
        levels[f"c{clients}"] = replay(config, script, clients=clients, run=run, seconds=seconds)
    numbers_repair()
    return {**levels, "_info": {**info, "script": "var/bench/ceiling.sql", "seconds": seconds}}


def numbers_repair() -> None:
    """The replay set the number counters to the captured value again and again; put each back
    above the highest number issued, so the application keeps working on this database."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE workflows_numbersequence s SET last = GREATEST(s.last, COALESCE((
                SELECT MAX(substring(n.number FROM length(s.prefix) + 2)::bigint) FROM (
                    SELECT number FROM workflows_application UNION ALL
                    SELECT number FROM workflows_applicationgroup WHERE number IS NOT NULL) n
                WHERE n.number ~ ('^' || s.prefix || '-[0-9]+$')), 0))
            """
        )
