# ruff: noqa: S603 - a fixed locust command line
"""Scenario 1 (submit through the HTTP API under locust) and 3 (routing latency)."""

import csv
import datetime
import json
import os
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import cpu
from bench.config import OUT, ROOT, Config
from bench.stack import BIN
from bench.stats import percentile, summary


def _read(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    with path.open() as handle:
        return [row for row in csv.reader(handle) if row]


def run_level(config: Config, *, users: int, sessions_file: Path, lease_file: Path) -> dict[str, Any]:
    """Runs locust with `users` concurrent citizens for warm-up + measured seconds."""
    log = OUT / f"locust-c{users}"
    env = dict(os.environ)
    env.update({
        "BENCH_SESSIONS": str(sessions_file),
        "BENCH_LEASE": str(lease_file),
        "BENCH_LOG": str(log),
        "PYTHONPATH": str(ROOT),
    })  # fmt: skip
    total = config.warmup + config.seconds
    # The CPU window: locust's own starts about when its first user does (the figures below
    # count from the first request); near enough for shares of the machine.
    launched = time.time()
    sampler = cpu.WindowSampler(launched + config.warmup, launched + config.warmup + config.seconds)
    sampler.start()
    argv = [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "-u", str(users),
            "-r", str(users), "-t", f"{total}s", "--host", config.base_url, "--only-summary", "--stop-timeout", "15",
            "--loglevel", "WARNING", "--exit-code-on-error", "0"]  # fmt: skip
    with (OUT / f"locust-c{users}.out").open("w") as out:
        subprocess.run(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False, timeout=total + 120)
    requests = _read(Path(f"{log}.requests.csv"))
    flows = _read(Path(f"{log}.flows.csv"))
    if not requests:
        return {"error": f"locust made no requests; see var/bench/locust-c{users}.out"}
    t0 = min(float(r[0]) for r in requests)
    start, end = t0 + config.warmup, t0 + config.warmup + config.seconds

    def in_window(row: list[str]) -> bool:
        return start <= float(row[1]) < end

    window = [r for r in requests if in_window(r)]
    submits = [r for r in window if r[2] == "submit"]
    ok_submits = [float(r[4]) for r in submits if r[3] == "1"]
    window_flows = [f for f in flows if in_window(f)]
    accepted = [f for f in window_flows if f[2] in ("201", "200")]
    failures = Counter(r[2] for r in window if r[3] != "1")
    per_request = {
        name: {"count": len(times), **summary(times)}
        for name in sorted({r[2] for r in window})
        for times in [[float(r[4]) for r in window if r[2] == name and r[3] == "1"]]
    }
    flow_ms = [(float(f[1]) - float(f[0])) * 1000 for f in accepted]
    accepted_all = [f for f in flows if f[2] in ("201", "200")]
    return {
        "rps": round(len(accepted) / config.seconds, 1),
        **summary(ok_submits),
        "errors": sum(failures.values()),
        "accepted": len(accepted),
        "found_in_db": None,  # filled in by check_in_db
        "seconds": config.seconds,
        "warmup_seconds": config.warmup,
        "requests_rps": round(len(window) / config.seconds, 1),
        "flow_p50_ms": round(percentile(flow_ms, 50), 1),
        "flow_p95_ms": round(percentile(flow_ms, 95), 1),
        "errors_by_request": dict(failures),
        "failed_flows_by_step": dict(Counter(f[5] for f in window_flows if f[2] == "0")),
        "requests": per_request,
        "cpu": sampler.result([float(f[1]) for f in accepted_all]),
        "_window": (start, end),  # wall-clock seconds: the measured window, after the warm-up
        "_accepted_all": accepted_all,
        "_accepted_window": accepted,
    }


def check_in_db(accepted: list[list[str]]) -> int:
    """How many accepted submissions are in the database as the API said: the group submitted
    with that Idempotency-Key and number, with its application."""
    from workflows.models import Application, ApplicationGroup

    ids = [int(f[3]) for f in accepted if f[3]]
    groups = {
        g["pk"]: g
        for g in ApplicationGroup.objects.filter(pk__in=ids, submitted_at__isnull=False).values(
            "pk", "idempotency_key", "number"
        )
    }
    with_apps = set(Application.objects.filter(group_id__in=ids).values_list("group_id", flat=True))
    found = 0
    for f in accepted:
        group = groups.get(int(f[3])) if f[3] else None
        if group and group["idempotency_key"] == f[4] and group["number"] == f[5] and group["pk"] in with_apps:
            found += 1
    return found


def first_wave_keys(route: dict) -> set[str]:
    return {step["key"] for step in route.get("steps", []) if not step.get("after")}


def routing(accepted: list[list[str]], *, wait_seconds: float = 60) -> dict[str, Any]:
    """From the submit response to every first-wave work item open: WorkItem.opened_at minus the
    moment locust received the submit response (same machine, same clock)."""
    from workflows.models import Application, WorkItem

    ids = [int(f[3]) for f in accepted if f[3]]
    if not ids:
        return {"p50_ms": 0, "p95_ms": 0, "count": 0}
    responded = {int(f[3]): float(f[1]) for f in accepted if f[3]}
    applications = list(
        Application.objects.filter(group_id__in=ids).values("pk", "group_id", "submitted_at", "service_version__route")
    )
    expected = {a["pk"]: first_wave_keys(a["service_version__route"] or {}) for a in applications}
    deadline = time.monotonic() + wait_seconds
    while True:
        rows = list(
            WorkItem.objects.filter(application_id__in=list(expected), round=1, opened_at__isnull=False).values_list(
                "application_id", "step_key", "opened_at"
            )
        )
        opened: dict[int, dict[str, datetime.datetime]] = {}
        for application_id, key, opened_at in rows:
            opened.setdefault(application_id, {})[key] = opened_at
        missing = [pk for pk, keys in expected.items() if not keys <= set(opened.get(pk, {}))]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1)
    from_response, from_commit = [], []
    for application in applications:
        times = opened.get(application["pk"], {})
        keys = expected[application["pk"]]
        if not keys <= set(times):
            continue
        last = max(times[k] for k in keys)
        from_response.append(max(0.0, (last.timestamp() - responded[application["group_id"]]) * 1000))
        from_commit.append((last - application["submitted_at"]).total_seconds() * 1000)
    return {
        "p50_ms": round(percentile(from_response, 50), 1),
        "p95_ms": round(percentile(from_response, 95), 1),
        "p99_ms": round(percentile(from_response, 99), 1),
        "from_submitted_at_p50_ms": round(percentile(from_commit, 50), 1),
        "from_submitted_at_p95_ms": round(percentile(from_commit, 95), 1),
        "count": len(from_response),
        "not_open_after_wait": len(missing),
    }


def write_sessions(path: Path, sessions: list[dict[str, str]]) -> None:
    path.write_text(json.dumps(sessions))
