"""The backup and restore drill in CI (marker `restore_drill`): a base backup with WAL archiving
taken while citizens apply through the real stack, a point-in-time restore into a throwaway
cluster, verify_audit on it, and every submission accepted before the target there (and none
sent after it). About two and a half minutes with 40 s of load.

Runs `python -m soak.restore_drill` as a subprocess and asserts on var/restore-drill/results.json.
`make restore-drill` runs the same with two minutes of load; docs/hardening.md has its figures.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "var" / "restore-drill" / "results.json"

pytestmark = [pytest.mark.restore_drill, pytest.mark.timeout(420)]


def test_a_point_in_time_restore_has_everything_accepted_before_the_target_and_nothing_after():
    env = {**os.environ, "DRILL_SECONDS": os.environ.get("DRILL_CI_SECONDS", "40"), "DRILL_CITIZENS": "2"}
    RESULTS.unlink(missing_ok=True)
    run = subprocess.run(
        [sys.executable, "-m", "soak.restore_drill"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=400
    )
    assert RESULTS.exists(), f"no results; the drill said:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    results = json.loads(RESULTS.read_text())
    assert "error" not in results, results.get("error")
    checks = results["checks"]
    assert checks["accepted_before_target"] > 0 and checks["accepted_after_target"] > 0, checks
    # Some were accepted after the base backup: they come back from the archived WAL alone.
    assert checks["accepted_after_backup_before_target"] > 0, checks
    assert checks["missing_before_target_count"] == 0, checks["missing_before_target"]
    assert checks["present_after_target_count"] == 0, checks["present_after_target"]
    assert checks["groups_submitted_after_target_in_restore"] == 0
    assert results["verify_audit"]["ok"], results["verify_audit"]["output"]
    # Recovered up to the target: the last commit replayed is at or before it, and close to it
    # under a load of several commits a second.
    assert 0 <= results["rpo_seconds"] < 5, results["rpo_seconds"]
    assert results["rto_seconds"] > 0
    assert results["ok"]
    assert run.returncode == 0, run.stdout[-2000:]
