"""The chaos soak in CI: two minutes of submissions and clerk decisions against a throwaway
stack (its own PostgreSQL cluster, Redis, gunicorn, Celery worker and beat) while workers are
killed and Redis and PostgreSQL restarted at random; then nothing lost, nothing done twice.

Runs `python -m soak.run` as a subprocess (soak/run.py does the work and the checks) and
asserts on var/soak/results.json. `make soak` runs the same for ten minutes.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "var" / "soak" / "results.json"

pytestmark = [pytest.mark.soak, pytest.mark.timeout(420)]
SUMMARY_KEYS = ("error", "submitted", "accepted", "lost", "duplicated", "faults_by_kind", "drained", "drain_seconds")


def test_two_minutes_of_chaos_lose_nothing_and_do_nothing_twice():
    env = {
        **os.environ,
        "SOAK_SECONDS": os.environ.get("SOAK_CI_SECONDS", "120"),
        "SOAK_FAULT_MIN": "5",
        "SOAK_FAULT_MAX": "12",
        # A load the shared CI machine's worker keeps up with, so the drain stays short.
        "SOAK_CITIZENS": "3",
        # Each application now ends with a signed certificate (PAdES, about a quarter of a second of
        # a worker's CPU): citizens pause between applications so the load stays one the CI
        # machine's single worker drains in time; the chaos is the same.
        "SOAK_THINK_SECONDS": "0.3",
        "SOAK_WORKER_CONCURRENCY": "3",
        "SOAK_DRAIN_SECONDS": "170",
        "SOAK_OUTBOX_RESEND_SECONDS": "15",
    }
    RESULTS.unlink(missing_ok=True)
    run = subprocess.run(
        [sys.executable, "-m", "soak.run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=400
    )
    assert RESULTS.exists(), f"no results; the soak said:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    results = json.loads(RESULTS.read_text())
    summary = {key: results.get(key) for key in SUMMARY_KEYS}
    assert "error" not in results, summary
    assert results["accepted"] > 0, summary
    assert results["lost"] == 0, results["checks"]["lost"][:5]
    assert results["duplicated"] == 0, results["checks"]["duplicated"]
    assert results["drained"], summary
    assert results["checks"]["inconsistent_count"] == 0, results["checks"]["inconsistent"][:5]
    assert results["checks"]["outbox_unconfirmed"] == 0, summary
    assert results["checks"]["incidents"]["unexplained"] == [], results["checks"]["incidents"]
    # Every kind of fault happened at least once (the injector deals them in shuffled rounds).
    assert set(results["faults_by_kind"]) == {"kill_worker_child", "kill_worker", "restart_redis", "restart_postgres"}
    assert results["ok"], summary
    assert run.returncode == 0, run.stdout[-2000:]
