# ruff: noqa: S603 - a fixed pgbench command line
"""Scenario 2: the database-only ceiling of this machine for one application.

The SQL statements the application executes for one application's whole work are captured
in-process through Django's execute_wrapper, with the transaction boundaries Django drew
(BEGIN/COMMIT): the citizen's flow (bench/flow.py: draft, upload, attach, answer, submit), the
routing tasks it starts (run in-process after their commit, as the embedded mode runs them), and
a clerk's work on every review step (flow.examine_once: open, claim, reveal, open documents,
approve) with the routing that follows each decision, until no review step is left open. The
work is captured twice; parameters that are the same both times stay literal, ids returned by
an INSERT become pgbench variables (`\\gset`), and strings that differ (numbers, keys, hashes,
file names) become unique per run.
The script is then replayed with pgbench at the same concurrency levels.

"Before" (`ceiling_before`): the same script with, before every INSERT of an application event
or a data-access record, the two statements the global hash chain's triggers ran in the user's
transaction (migration workflows/0007_audit_chain, replaced by 0017_transparency_log): the one
advisory lock of the audit trail, held to COMMIT, and the read of the table's last row and its
hash. Both run in the same bench run, on the same machine, so the two figures compare.
"""

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection
from django.test import Client
from psycopg import sql

from bench import flow
from bench.config import OUT, Config
from bench.fixtures import id_card_of

SAVEPOINT = re.compile(r'"s\d+_x\d+"')
UNIQUE_DIGITS = 15
# Each replay's unique number: run (up to 99), client (up to 999) and the client's own counter,
# in at most UNIQUE_DIGITS digits, so the `right(…)` of `_unique` keeps all three. (Runs of ten
# and more once overflowed to 16 digits, lost their first digit and collided with runs 0–9.)
UNIQUE_NUMBER = "\\set u :run * 10000000000000 + :client_id * 10000000000 + :seq"
# The audit trail's one lock and the tables the old chain covered (0007_audit_chain).
CHAIN_LOCK = "SELECT pg_advisory_xact_lock(88200, 1);"
CHAINED_INSERT = re.compile(
    r'^\s*(?:WITH returned AS \()?INSERT INTO "?(workflows_applicationevent|workflows_dataaccessrecord)"?[\s(]'
)


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
        self.paused = False  # the harness's own look-ups between requests are not the application's

    def __call__(self, execute, sql, params, many, context):
        if self.paused:
            return execute(sql, params, many, context)
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
                if statement.returned:  # an UPDATE … RETURNING may match no row (a counter's first use)
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


@dataclass
class Clerks:
    """A signed-in client per department (its demo clerk, second factor confirmed)."""

    clients: dict[int, Client] = field(default_factory=dict)

    def client_for(self, department_id: int) -> Client:
        if department_id not in self.clients:
            from accounts.models import User
            from bench.fixtures import session_for

            clerk = User.objects.get(memberships__department_id=department_id, username__startswith="clerk.")
            client = Client()
            client.cookies["sessionid"] = session_for(clerk)["sessionid"]
            self.clients[department_id] = client
        return self.clients[department_id]


def _open_reviews(group_id: int) -> list[tuple[int, int, str | None, list[int]]]:
    """The group's open review steps: (work item, department, a protected field to reveal,
    the attached documents a clerk may open), in a stable order."""
    from workflows.models import WorkItem
    from workflows.workbench.selectors.item_page import (
        _is_protected,
        _needed_element,
        application_documents,
        step_needs,
    )

    reviews = []
    items = WorkItem.objects.filter(
        application__group_id=group_id, kind=WorkItem.Kind.REVIEW, status=WorkItem.Status.OPEN
    ).select_related("application__service_version")
    for item in items.order_by("id"):
        application = item.application
        needs = step_needs(item)  # what the step is shown (data minimisation): reveal and open only that
        fields = application.service_version.fields.select_related("element").order_by("order", "id")
        reveal = next(
            (
                f.element.key
                for f in fields
                if _is_protected(f.element)
                and _needed_element(needs, f.element.key)
                and f.element.key in (application.data or {})
            ),
            None,
        )
        documents = [
            a.document_id
            for a in application_documents(application, needs=needs)
            if a.document.may_be_opened_by_staff and a.document.erased_at is None
        ]
        reviews.append((item.pk, item.department_id, reveal, documents))
    return reviews


def capture(
    client: Client, user, lease_pdf: bytes, serial: int, clerks: Clerks, *, whole: bool = True
) -> list[Statement]:
    """One application's statements. `whole`: its whole work (routing in-process, every review
    step examined); otherwise the applicant's part only, the six requests of bench/flow.py, as the
    ceiling was captured when the issue measured the global chain's 47/s (routing then runs in
    the stack's Celery worker, outside the capture)."""
    from contextlib import nullcontext

    from bench.engine import in_process

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
        with in_process() if whole else nullcontext(), connection.execute_wrapper(recorder):
            result = flow.apply_once(call, id_card=id_card, lease_pdf=lease_pdf, serial=serial)
            assert result.group_id is not None
            for _round in range(10 if whole else 0):  # a route's review steps, as each decision opens the next
                recorder.paused = True
                reviews = _open_reviews(result.group_id)
                signed_in = [clerks.client_for(department_id) for _item, department_id, _r, _d in reviews]
                recorder.paused = False
                if not reviews:
                    break
                for (item_id, _department, reveal, documents), clerk in zip(reviews, signed_in, strict=True):
                    clerk_call = _client_call(clerk, recorder)
                    flow.examine_once(clerk_call, item_id=item_id, reveal=reveal, documents=documents)
    finally:
        connection._commit, connection._rollback = original_commit, original_rollback  # type: ignore[method-assign]
    recorder.ended("COMMIT")
    return recorder.statements


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Raw(str):
    """SQL text put into a statement as it is: a pgbench variable or an expression of one."""


def _literal(value: Any) -> str:
    """A parameter as SQL text, as the server would read the bound value."""
    if isinstance(value, _Raw):
        return value
    if isinstance(value, list) and any(isinstance(v, _Raw | list) for v in value):
        return "ARRAY[" + ", ".join(_literal(v) for v in value) + "]"
    return sql.Literal(value).as_string(connection.connection)


def inline(template: str, params: Any) -> str:
    """The statement with its parameters written in (psycopg 3 binds them on the server, so it
    has no client-side `mogrify` on the cursor Django uses)."""
    return template % tuple(_literal(p) for p in params)


def _unique(value: str) -> _Raw:
    """The same length as the captured string, its tail replaced by the run's unique number."""
    keep = max(0, len(value) - UNIQUE_DIGITS)
    width = min(len(value), UNIQUE_DIGITS)
    head = value[:keep].replace("'", "''")
    return _Raw(f"('{head}' || right(lpad((:u)::text, {UNIQUE_DIGITS}, '0'), {width}))")


def build_script(first: list[Statement], second: list[Statement]) -> tuple[list[str], dict[str, Any]]:
    """The pgbench script as a list of commands (one SQL statement or BEGIN/COMMIT each, with
    its `\\gset` if any), and what it holds."""
    if [s.shape for s in first] != [s.shape for s in second]:
        raise RuntimeError("the two captured flows ran different statements; the ceiling cannot be parameterised")
    connection.ensure_connection()
    lines = ["\\set seq :seq + 1", UNIQUE_NUMBER]
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

            def adapt(pa: Any, pb: Any) -> Any:
                if pa == pb:
                    return pa
                if _is_int(pa) and pa in variables_a and variables_b.get(pb) == variables_a[pa]:
                    return _Raw(variables_a[pa])
                if isinstance(pa, str):
                    return _unique(pa)
                if isinstance(pa, list) and isinstance(pb, list) and len(pa) == len(pb):
                    # A batch written in one statement (UNNEST of arrays): element by element.
                    return [adapt(ea, eb) for ea, eb in zip(pa, pb, strict=True)]
                return pa

            adapted = [adapt(pa, pb) for pa, pb in zip(list(a.params), list(b.params), strict=True)]
            text = inline(a.sql, adapted)
        else:
            text = a.sql
        prefix = f"r{index}_"
        if len(a.returned) == 1 and len(b.returned) == 1:
            for column, va, vb in zip(a.columns, a.returned[0], b.returned[0], strict=True):
                if _is_int(va):
                    variables_a[va] = variables_b[vb] = f":{prefix}{column}"
            lines.append(text.rstrip(";") + "\n\\gset " + prefix)
        elif len(a.returned) > 1 and len(a.returned) == len(b.returned) and a.columns:
            lines.append(_rows_gset(text, a, b, prefix, variables_a, variables_b))
        else:
            lines.append(text.rstrip(";") + ";")
    statements = sum(per_request.values())
    return lines, {"statements": statements, "statements_by_request": per_request}


def _rows_gset(
    text: str, a: Statement, b: Statement, prefix: str, variables_a: dict[int, str], variables_b: dict[int, str]
) -> str:
    """A statement returning several rows (a batch inserted in one statement), as one row pgbench
    can `\\gset`: every returned id becomes a variable `<prefix><column>_<k>`, k-th in the order
    the rows came back (their id order)."""
    order = a.columns[0]
    selects = []
    for k, (row_a, row_b) in enumerate(zip(a.returned, b.returned, strict=True), start=1):
        for column, va, vb in zip(a.columns, row_a, row_b, strict=True):
            if _is_int(va):
                name = f"{column}_{k}"
                variables_a[va] = variables_b[vb] = f":{prefix}{name}"
                selects.append(f'(array_agg(returned."{column}" ORDER BY returned."{order}"))[{k}] AS "{name}"')
    if not selects:
        return text.rstrip(";") + ";"
    return f"WITH returned AS ({text.rstrip(';')}) SELECT {', '.join(selects)} FROM returned\n\\gset {prefix}"  # noqa: S608 - a bench script built from captured SQL


def script_text(commands: list[str]) -> str:
    return "\n".join(commands) + "\n"


def _last_row_read(table: str) -> str:
    # What the old per-row trigger read under the lock: the last row and its hash (the chain's
    # hash column is gone; the hash of the row's text costs the same sha256 over the same bytes).
    return (
        f"SELECT t.id, encode(sha256(convert_to(t::text, 'UTF8')), 'hex') FROM {table} t "  # noqa: S608 - fixed names
        "ORDER BY t.id DESC LIMIT 1;"
    )


def with_global_chain(commands: list[str]) -> list[str]:
    """The script as the global hash chain ran it: before each INSERT into an audit table, the
    audit lock (held until the transaction ends) and the read of that table's last row. An
    insert outside a transaction (autocommit) gets its own BEGIN/COMMIT, as the trigger's lock
    lasted to the end of the insert's own transaction."""
    rewritten: list[str] = []
    in_transaction = False
    for command in commands:
        keyword = command.strip().rstrip(";").upper()
        if keyword == "BEGIN":
            in_transaction = True
        elif keyword in ("COMMIT", "ROLLBACK"):
            in_transaction = False
        match = CHAINED_INSERT.match(command)
        if match is None:
            rewritten.append(command)
            continue
        chain = [CHAIN_LOCK, _last_row_read(match.group(1)), command]
        rewritten.extend(chain if in_transaction else ["BEGIN;", *chain, "COMMIT;"])
    return rewritten


# pgbench 15 corrupts its heap while parsing some scripts with many `\gset`s ("realloc():
# invalid next size", depending only on the count of commands); one more meta-command (no SQL,
# nothing sent to the server) moves the script off the count that crashes.
PGBENCH_HEAP_CRASH = re.compile(r"realloc\(\)|malloc\(\)|free\(\)|corrupted")


def protocol() -> str:
    """pgbench's query mode that sends the SQL as the portal's connection does: `prepared` when
    psycopg binds parameters on the server (each statement a connection runs often is prepared
    once and then only executed: portal/settings.py, DB_SERVER_SIDE_BINDING), else `simple`
    (the values written into the text, parsed and planned on every run)."""
    return "prepared" if connection.settings_dict.get("OPTIONS", {}).get("server_side_binding") else "simple"


def prepared_on_connection() -> dict[str, int]:
    """What the portal's own connection holds prepared after the captures: statements, and how
    many of their runs used the generic plan (planned once) or a custom plan (planned again)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), COALESCE(sum(generic_plans), 0), COALESCE(sum(custom_plans), 0)"
            " FROM pg_prepared_statements WHERE NOT from_sql"
        )
        statements, generic, custom = cursor.fetchone()
    return {"statements": int(statements), "generic_plan_runs": int(generic), "custom_plan_runs": int(custom)}


# pgbench's progress line, every PROGRESS_SECONDS: "progress: 15.0 s, 89.6 tps, lat …".
PROGRESS = re.compile(r"^progress: ([\d.]+) s, ([\d.]+) tps", re.MULTILINE)
PROGRESS_SECONDS = 5


def steady_tps(progress: str, *, warmup: int) -> float | None:
    """Flows/s over the progress intervals that end after the warm-up, or None if none does."""
    rates = [float(rate) for at, rate in PROGRESS.findall(progress) if float(at) > warmup]
    return round(sum(rates) / len(rates), 1) if rates else None


def replay(
    config: Config, script: Path, *, clients: int, run: int, seconds: int, name: str = "pgbench"
) -> dict[str, Any]:
    """`seconds` of flows after a warm-up (BENCH_WARMUP). A new connection starts cold: each
    statement is planned on its first runs there (PostgreSQL plans a prepared statement's first
    five runs for their values) and the catalogue caches fill. The portal's connections are
    persistent, so its ceiling is the rate once they are warm; at c32 the first ten seconds ran
    at a quarter of it (docs/benchmarks.md). The rate over the whole run is kept beside it."""
    padding = 0
    warmup = config.warmup
    while True:
        argv = ["pgbench", "-h", config.pg_host, "-p", str(config.pg_port), "-U", config.pg_user, "-n", "-M",
                protocol(), "-f", str(script), "-c", str(clients), "-j", str(min(clients, 2)),
                "-T", str(seconds + warmup), "-P", str(PROGRESS_SECONDS),
                "-D", f"run={run}", "-D", "seq=0", config.db_name]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + warmup + 120, check=False)
        if padding >= 3 or not PGBENCH_HEAP_CRASH.search(done.stderr):
            break
        padding += 1
        padded = script.with_name(f"{script.stem}-padded{script.suffix}")
        padded.write_text(f"\\set pad{padding} 0\n" + script.read_text())
        script = padded
    (OUT / f"{name}-c{clients}.out").write_text(done.stdout + done.stderr)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if not tps:
        return {"tps": 0, "error": (done.stderr or done.stdout)[-500:]}
    whole_run = round(float(tps.group(1)), 1)
    warm = steady_tps(done.stderr, warmup=warmup)
    return {
        "tps": whole_run if warm is None else warm,
        "tps_whole_run": whole_run,
        "warmup_s": warmup,
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "failed": int(failed.group(1)) if failed else 0,
        "exit_code": done.returncode,
        **({"padded_for_pgbench_bug": padding} if padding else {}),
    }


def _scripts(client: Client, user, lease_pdf: bytes, clerks: Clerks, *, whole: bool, serial: int, stem: str):
    """Captures one application three times (the first warms first-use caches) and writes the
    pgbench script and its "before" rewrite; returns both scripts, the capture's figures and
    what "before" reports of its script (its path and the chain locks it takes)."""
    capture(client, user, lease_pdf, serial + 1, clerks, whole=whole)
    first = capture(client, user, lease_pdf, serial + 2, clerks, whole=whole)
    second = capture(client, user, lease_pdf, serial + 3, clerks, whole=whole)
    commands, info = build_script(first, second)
    script = OUT / f"{stem}.sql"
    script.write_text(script_text(commands))
    chained = with_global_chain(commands)
    script_before = OUT / f"{stem}-before.sql"
    script_before.write_text(script_text(chained))
    (OUT / f"{stem}-capture.json").write_text(
        json.dumps([{"request": s.request, "sql": s.sql, "params": repr(s.params)} for s in first], indent=1)
    )
    before_info = {
        "script": f"var/bench/{script_before.name}",
        "chain_locks": sum(1 for c in chained if c == CHAIN_LOCK),
    }
    return script, script_before, {**info, "script": f"var/bench/{script.name}"}, before_info


def _replays(config: Config, script: Path, script_before: Path, *, run: int, name: str) -> tuple[dict, dict, int]:
    """After and before alternate level by level, so a change in the machine's other load
    touches both alike."""
    seconds = config.ceiling_seconds or config.seconds
    levels, before = {}, {}
    for clients in config.levels:
        run += 1
        levels[f"c{clients}"] = replay(config, script, clients=clients, run=run, seconds=seconds, name=name)
        if config.ceiling_before:
            run += 1
            before[f"c{clients}"] = replay(
                config, script_before, clients=clients, run=run, seconds=seconds, name=f"{name}-before"
            )
    return levels, before, run


def ceiling(config: Config, *, user, lease_pdf: bytes) -> dict[str, Any]:
    """The whole work's ceiling at every level; with BENCH_CEILING_APPLICANT (default on) also
    the applicant's part alone (`applicant`), the script the issue's 47/s was measured on."""
    separate_id_ranges()
    client = Client()
    client.force_login(user)  # one session for the captures: its key stays a constant
    clerks = Clerks()  # the same for the clerks
    seconds = config.ceiling_seconds or config.seconds
    script, script_before, info, before_info = _scripts(
        client, user, lease_pdf, clerks, whole=True, serial=900_000, stem="ceiling"
    )
    levels, before, run = _replays(config, script, script_before, run=0, name="pgbench")
    result: dict[str, Any] = {
        **levels,
        "_info": {**info, "seconds": seconds, "protocol": protocol(), "prepared": prepared_on_connection()},
    }
    if before:
        result["_before"] = {**before, "_info": before_info}
    if config.ceiling_applicant:
        from celery import current_app

        eager = current_app.conf.task_always_eager
        current_app.conf.task_always_eager = False  # routing is the worker's, not the capture's
        try:
            script, script_before, info, before_info = _scripts(
                client, user, lease_pdf, clerks, whole=False, serial=900_010, stem="ceiling-applicant"
            )
        finally:
            current_app.conf.task_always_eager = eager
        levels, before, run = _replays(config, script, script_before, run=run, name="pgbench-applicant")
        result["_applicant"] = {**levels, "_info": {**info, "seconds": seconds, "protocol": protocol()}}
        if before:
            result["_applicant_before"] = {**before, "_info": before_info}
    numbers_repair()
    return result


# The targets for the ceiling: at least 5x the 47/s the global chain allowed at 32 clients,
# and no lower at 32 clients than at 8.
CEILING_BEFORE_C32 = 47
CEILING_TARGET_FACTOR = 5


def assessment(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """The ceiling against its targets, and after ÷ before at every level measured in both."""

    def tps(figures: dict[str, Any], level: str) -> float | None:
        value = figures.get(level, {}).get("tps")
        return float(value) if value else None

    c8, c32 = tps(after, "c8"), tps(after, "c32")
    target = CEILING_BEFORE_C32 * CEILING_TARGET_FACTOR
    return {
        "c32_target_tps": target,
        "c32_met": None if c32 is None else c32 >= target,
        "c32_not_below_c8": None if c32 is None or c8 is None else c32 >= c8,
        "after_over_before": {
            level: round(a / b, 2)
            for level in after
            if not level.startswith("_") and (a := tps(after, level)) and (b := tps(before, level))
        },
    }


def levels_text(figures: dict[str, Any]) -> str:
    return ", ".join(f"{level} {f.get('tps')}/s" for level, f in figures.items() if not level.startswith("_"))


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
