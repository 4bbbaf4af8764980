"""PostgreSQL's autovacuum, for a bench server that runs with it switched off.

A portal's PostgreSQL runs autovacuum (the default): tables are analysed as they grow, so the
planner knows a table of 20,000 documents is not one of 200, and vacuumed, so index-only scans
stay index-only. A server started with `autovacuum = off` (as this machine's shared one is) never
does either, and the load scenarios then measure plans made for the empty tables they began with:
a hash join over every document to find an application's two, at every upload. The bench cannot
switch autovacuum on (a server setting, and the server is shared), so while a load runs this
thread applies autovacuum's own rule to the bench database: a table is analysed once more rows
changed since its last analysis than `autovacuum_analyze_threshold + autovacuum_analyze_scale_factor
× rows`, and vacuumed once its dead rows pass the vacuum rule or its inserts the insert rule
(PostgreSQL 13+), the thresholds read from the server. It checks every `interval` seconds rather
than autovacuum's naptime of a minute: the bench's tables start near empty and grow tenfold within
one level, where a portal's grow by a fraction of a percent between two naptimes.

Where the server runs autovacuum itself, the stand-in does nothing and says so.
"""

import threading
import time
from typing import Any

SETTINGS = (
    "autovacuum",
    "autovacuum_analyze_threshold",
    "autovacuum_analyze_scale_factor",
    "autovacuum_vacuum_threshold",
    "autovacuum_vacuum_scale_factor",
    "autovacuum_vacuum_insert_threshold",
    "autovacuum_vacuum_insert_scale_factor",
)

# The tables due, by autovacuum's rule (reltuples is -1 for a table never analysed: as 0).
DUE = """
SELECT s.relname,
       s.n_mod_since_analyze > %(analyze_threshold)s + %(analyze_scale)s * greatest(c.reltuples, 0) AS analyse,
       s.n_dead_tup > %(vacuum_threshold)s + %(vacuum_scale)s * greatest(c.reltuples, 0)
       OR s.n_ins_since_vacuum > %(insert_threshold)s + %(insert_scale)s * greatest(c.reltuples, 0) AS vacuum
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.schemaname = 'public'
"""


def server_settings(cursor) -> dict[str, str]:
    cursor.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", [list(SETTINGS)])
    return dict(cursor.fetchall())


def rule_parameters(settings: dict[str, str]) -> dict[str, float]:
    return {
        "analyze_threshold": float(settings["autovacuum_analyze_threshold"]),
        "analyze_scale": float(settings["autovacuum_analyze_scale_factor"]),
        "vacuum_threshold": float(settings["autovacuum_vacuum_threshold"]),
        "vacuum_scale": float(settings["autovacuum_vacuum_scale_factor"]),
        "insert_threshold": float(settings.get("autovacuum_vacuum_insert_threshold", "1000")),
        "insert_scale": float(settings.get("autovacuum_vacuum_insert_scale_factor", "0.2")),
    }


def due_tables(cursor, parameters: dict[str, float]) -> list[tuple[str, bool]]:
    """(table, also to vacuum) for every table past one of autovacuum's thresholds: each is
    analysed, and vacuumed as well where its dead rows or inserts passed the vacuum rules."""
    cursor.execute(DUE, parameters)
    return [(name, bool(vacuum)) for name, analyse, vacuum in cursor.fetchall() if analyse or vacuum]


def pass_once(cursor, parameters: dict[str, float]) -> tuple[int, int]:
    """One round over the due tables; (tables analysed, tables vacuumed)."""
    analysed = vacuumed = 0
    for name, vacuum in due_tables(cursor, parameters):
        quoted = '"' + name.replace('"', '""') + '"'
        if vacuum:
            cursor.execute(f"VACUUM (ANALYZE, SKIP_LOCKED) {quoted}")
            vacuumed += 1
            analysed += 1
        else:
            cursor.execute(f"ANALYZE (SKIP_LOCKED) {quoted}")
            analysed += 1
    return analysed, vacuumed


class StandIn(threading.Thread):
    """Runs autovacuum's rule on the bench database every `interval` seconds, when the server's
    own autovacuum is off: `begin()` before a load, `end()` after it (again: nothing)."""

    def __init__(self, database_url: str, *, interval: float = 10.0) -> None:
        super().__init__(daemon=True, name="autovacuum-stand-in")
        import psycopg

        self.connection = psycopg.connect(database_url)
        self.connection.autocommit = True  # VACUUM cannot run inside a transaction block
        with self.connection.cursor() as cursor:
            self.settings = server_settings(cursor)
        self.parameters = rule_parameters(self.settings)
        self.server_runs_it = self.settings.get("autovacuum") == "on"
        self.interval = interval
        self.rounds = self.analysed = self.vacuumed = 0
        self.seconds = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            started = time.monotonic()
            with self.connection.cursor() as cursor:
                analysed, vacuumed = pass_once(cursor, self.parameters)
            self.rounds += 1
            self.analysed += analysed
            self.vacuumed += vacuumed
            self.seconds += time.monotonic() - started

    def begin(self) -> "StandIn":
        if not self.server_runs_it:
            self.start()
        return self

    def end(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=600)
        if not self.connection.closed:
            self.connection.close()

    def figures(self) -> dict[str, Any]:
        if self.server_runs_it:
            return {"server_autovacuum": "on", "stand_in": False}
        return {
            "server_autovacuum": "off",
            "stand_in": True,
            "interval_s": self.interval,
            "rounds": self.rounds,
            "tables_analysed": self.analysed,
            "tables_vacuumed": self.vacuumed,
            "seconds_spent": round(self.seconds, 1),
        }
