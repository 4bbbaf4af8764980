# ruff: noqa: S310 - requests to our own local server
"""Scenario 4: the clerk queue at 10,000 and 1,000,000 applications.

Timed over HTTP against gunicorn (the page /workbench/ and the API /api/workbench/items/): the
first page, a deep keyset page (a cursor half-way down the department's unclaimed work) and a
search by application number. The query count of each is taken in-process (Django's test
client on the same database), and the heaviest statements are EXPLAIN ANALYZEd.
"""

import time
import urllib.parse
import urllib.request
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from bench.config import Config
from bench.fixtures import session_for
from bench.loader import clerk_username, department_code, vacuum
from bench.stats import summary

PLAN_MARKERS = ("Index", "Seq Scan", "Bitmap", "Sort", "Limit", "Aggregate", "Nested Loop", "Hash Join",
                "Execution Time", "Planning Time", "Rows Removed")  # fmt: skip


def _paths(department_index: int) -> dict[str, str]:
    """The requests measured, for the clerk of one bench department."""
    from workflows.models import WorkItem
    from workflows.workbench import selectors

    department = department_code(department_index)
    unclaimed = WorkItem.objects.filter(
        department__code=department, kind="review", status="open", assignee__isnull=True
    ).order_by("statutory_due_at", "pk")
    total = unclaimed.count()
    deep = unclaimed.select_related("application")[max(0, total // 2)]
    cursor = selectors.cursor_encode(deep)
    number = deep.application.number
    pages = {
        "page_first": "/workbench/",
        "page_deep": "/workbench/?" + urllib.parse.urlencode({"after": cursor}),
        "page_search": "/workbench/?" + urllib.parse.urlencode({"q": number}),
    }
    try:
        api = reverse("workflows-api:workbench-queue")
    except NoReverseMatch:
        api = ""
    if api:
        pages.update({
            "api_first": api,
            "api_deep": f"{api}?" + urllib.parse.urlencode({"after": cursor}),
            "api_search": f"{api}?" + urllib.parse.urlencode({"q": number}),
        })  # fmt: skip
    return pages


def _explain(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        lines = [row[0] for row in cursor.fetchall()]
    return [line.strip() for line in lines if any(marker in line for marker in PLAN_MARKERS)][:14]


def measure(config: Config, *, size: int, department_index: int = 0) -> dict[str, Any]:
    from accounts.models import User

    clerk = User.objects.get(username=clerk_username(department_index))
    vacuumed = vacuum()  # as autovacuum would have after the load, on a running portal
    paths = _paths(department_index)
    session = session_for(clerk)
    headers = {"Cookie": f"sessionid={session['sessionid']}; csrftoken={session['csrftoken']}"}
    result: dict[str, Any] = {}
    client = Client()
    # The same session as over HTTP: staff pages need the second factor confirmed in it.
    client.cookies["sessionid"] = session["sessionid"]
    plans: dict[str, list[str]] = {}
    for name, path in paths.items():
        # Query count (and the statements, for EXPLAIN) in-process; the smaller of two loads, so
        # the once-a-minute session write (last_seen) is not counted as the page's.
        counts = []
        for _ in range(2):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path)
            counts.append(len(captured.captured_queries))
        if response.status_code != 200:
            result[name] = {"error": f"HTTP {response.status_code}"}
            continue
        timings = []
        for index in range(config.queue_samples + 3):
            request = urllib.request.Request(config.base_url + path, headers=headers)
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as http:
                http.read()
                status = http.status
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                raise RuntimeError(f"{path}: HTTP {status}")
            if index >= 3:  # the first few warm the worker's caches and connections
                timings.append(elapsed)
        statements = captured.captured_queries
        # EXPLAIN only what can be explained: the page's reads, not its transaction's COMMIT or the
        # access record it writes.
        reads = [q for q in statements if q["sql"].lstrip("( ").upper().startswith(("SELECT", "WITH"))]
        heaviest = sorted(reads, key=lambda q: float(q.get("time") or 0), reverse=True)[:2]
        if name in ("page_first", "page_deep", "page_search"):
            plans[name] = [line for q in heaviest for line in ["-- " + q["sql"][:160], *_explain(q["sql"])]]
        result[name] = {"queries": min(counts), **summary(timings)}
    first = result.get("page_first", {})
    return {
        "p50_ms": first.get("p50_ms"),
        "p95_ms": first.get("p95_ms"),
        "queries": first.get("queries"),
        "department_queue_rows": _department_rows(department_index),
        "requests": result,
        "plans": plans,
        "size": size,
        "vacuum_seconds": vacuumed,
    }


def _department_rows(department_index: int) -> int:
    from workflows.models import WorkItem

    return WorkItem.objects.filter(department__code=department_code(department_index), kind="review").count()
