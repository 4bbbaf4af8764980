# ruff: noqa: S310 - requests to our own local server
"""Scenario: the supervision dashboard at 100,000 and 1,000,000 applications.

Uses the applications the queue scenario COPY-loads (bench/loader.py). COPY writes no events,
so the rollups are built the way an upgrade builds them (`rollups_rebuild`, timed and
reported); from then on the stack's beat refreshes them as usual.

Timed over HTTP against gunicorn: /supervision/ (the default period, the last 30 days) for a
supervisor of one bench department and for an administrator (every department: the whole
population), p50/p95 over BENCH_DASHBOARD_SAMPLES requests each. The query count of each is
taken in-process (Django's test client on the same database), and the heaviest statements are
EXPLAIN ANALYZEd. `p95_ms` is the slower of the two people.
"""

import time
import urllib.request
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.config import Config
from bench.fixtures import session_for
from bench.loader import department_code, vacuum
from bench.queue import _explain
from bench.stats import summary

PATH = "/supervision/"


def people(department_index: int = 0) -> dict[str, Any]:
    """A supervisor of one bench department, and an administrator (idempotent)."""
    from accounts.models import Department, Membership, Role, User

    department = Department.objects.get(code=department_code(department_index))
    supervisor, _ = User.objects.get_or_create(
        username=f"bench.supervisor.{department.code}",
        defaults={"display_name": f"Bench supervisor {department.code}", "is_staff": True},
    )
    Membership.objects.get_or_create(user=supervisor, department=department, role=Role.SUPERVISOR)
    administrator, _ = User.objects.get_or_create(
        username="bench.administrator",
        defaults={"display_name": "Bench administrator", "is_staff": True, "is_superuser": True},
    )
    return {"supervisor": supervisor, "administrator": administrator}


def rollups_build() -> dict[str, Any]:
    from workflows.progress.rollups import rollups_rebuild

    started = time.monotonic()
    cells = rollups_rebuild()
    return {"cells": cells, "seconds": round(time.monotonic() - started, 1)}


def _timed(config: Config, user: Any) -> dict[str, Any]:
    session = session_for(user)
    headers = {"Cookie": f"sessionid={session['sessionid']}; csrftoken={session['csrftoken']}"}
    client = Client()
    # The same session as over HTTP: staff pages need the second factor confirmed in it.
    client.cookies["sessionid"] = session["sessionid"]
    # The query count in-process; the smaller of two loads, so the once-a-minute session write
    # (last_seen) is not counted as the page's.
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(PATH)
        counts.append(len(captured.captured_queries))
    if response.status_code != 200:
        return {"error": f"HTTP {response.status_code}"}
    timings = []
    for index in range(config.dashboard_samples + 3):
        request = urllib.request.Request(config.base_url + PATH, headers=headers)
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as http:
            http.read()
            status = http.status
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200:
            raise RuntimeError(f"{PATH}: HTTP {status}")
        if index >= 3:  # the first few warm the worker's caches and connections
            timings.append(elapsed)
    heaviest = sorted(captured.captured_queries, key=lambda q: float(q.get("time") or 0), reverse=True)[:3]
    plans = [line for q in heaviest for line in [f"-- {q['time']} s " + q["sql"][:160], *_explain(q["sql"])]]
    return {"queries": min(counts), **summary(timings), "plans": plans}


def measure(config: Config, *, size: int) -> dict[str, Any]:
    from workflows.models import Application

    built = rollups_build()
    result: dict[str, Any] = {
        "size": size,
        "applications": Application.objects.count(),
        "rollups": built,
        "vacuum_seconds": vacuum(),
    }
    for name, user in people().items():
        result[name] = _timed(config, user)
    measured = [result[name] for name in ("supervisor", "administrator") if "p95_ms" in result[name]]
    if measured:
        slowest = max(measured, key=lambda figures: figures["p95_ms"])
        result.update(p50_ms=slowest["p50_ms"], p95_ms=slowest["p95_ms"], queries=max(f["queries"] for f in measured))
    return result
