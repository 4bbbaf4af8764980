# ruff: noqa: S603, S608 - fixed command lines and SQL for our own throwaway clusters
"""`make restore-drill` / `python -m soak.restore_drill`: a base backup with WAL archiving taken
while citizens apply, then a point-in-time restore into another throwaway cluster, checked.

1. a throwaway PostgreSQL cluster under var/restore-drill/primary (own port, initdb'd afresh,
   run as the `postgres` OS user) with `archive_mode = on` and an `archive_command` copying each
   WAL segment to var/restore-drill/archive; migrate and seed as the soak does; Redis, gunicorn,
   a Celery worker and the beat on free ports;
2. the soak's citizens apply through the HTTP API (and its clerks decide) for DRILL_SECONDS;
   a quarter of the way in, `pg_basebackup` takes a base backup (without WAL: what it needs
   must come from the archive) while the load goes on;
3. after the backup, the recovery target: the primary's clock at that moment; the load goes on
   after it, then stops, the current WAL segment is switched and archived, and everything is
   stopped (the primary is "lost");
4. the restore, timed: the base backup copied into var/restore-drill/restored, `restore_command`
   reading the archive, `recovery_target_time` = the target, promoted at the target; then
   `manage.py verify_audit` against it, and the check that every submission the API accepted
   before the target is there, as accepted, and none sent after it.

Reports, in var/restore-drill/results.json:
- RPO at the target: the target minus the last commit the restore recovered (how much of the
  time before the target was not recovered), and the archive's lag at the target (the age of
  the last archived segment then: what a loss of the primary's disk at that moment would have
  cost; bounded by `archive_timeout`);
- RTO: from the start of the restore to a promoted, verified, checked database.
Exit status 1 when anything accepted before the target is missing, anything after it is
there, verify_audit fails, or the drill could not run.

Knobs: DRILL_SECONDS (load, default 120), DRILL_CITIZENS (3), DRILL_ARCHIVE_TIMEOUT (archive a
segment at least this often, default 60 s), DRILL_WORKER_CONCURRENCY (2).
"""

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from soak.config import ROOT, Config
from soak.stack import PY, Postgres, Redis, Stack, _as_os_user, free_port, wait_until

logger = logging.getLogger("soak.restore_drill")
OUT = ROOT / "var" / "restore-drill"
# Of the load's duration: when the base backup starts, and when the recovery target is taken
# (at least this far in, and not before the backup has finished).
BACKUP_AT = 0.25
TARGET_AT = 0.6


def _stop_on_signal(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def drill_config() -> Config:
    return Config(
        seconds=int(os.environ.get("DRILL_SECONDS", "120")),
        citizens=int(os.environ.get("DRILL_CITIZENS", "3")),
        think_seconds=float(os.environ.get("DRILL_THINK_SECONDS", "0.3")),
        worker_concurrency=int(os.environ.get("DRILL_WORKER_CONCURRENCY", "2")),
        db_name="onedoor_drill",
        out=OUT,
    )


def archive_timeout() -> int:
    return int(os.environ.get("DRILL_ARCHIVE_TIMEOUT", "60"))


def owned_directory(config: Config, path: Path) -> Path:
    """A directory the PostgreSQL OS user owns (the server and pg_basebackup write there)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(path, user=config.pg_user)
    return path


def as_pg_user(config: Config, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        _as_os_user(config, list(argv)), capture_output=True, text=True, check=True, timeout=timeout
    )  # fmt: skip


def prepare_out(config: Config) -> None:
    """Stops clusters a previous drill left running and empties var/restore-drill."""
    for name in ("primary", "restored"):
        data = OUT / name / "data"
        if (data / "postmaster.pid").exists():
            argv = [str(config.pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            subprocess.run(_as_os_user(config, argv), capture_output=True, check=False)
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(OUT, user=config.pg_user)  # the clusters' sockets and logs live below


def archiving_primary(config: Config, archive: Path) -> Postgres:
    primary = Postgres(config, directory=OUT / "primary")
    primary.init()
    with (primary.data / "postgresql.conf").open("a") as conf:
        # Copied under a temporary name and renamed, so a restore never reads half a segment.
        copy = f"test ! -f {archive}/%f && cp %p {archive}/%f.part && mv {archive}/%f.part {archive}/%f"
        conf.write(
            f"wal_level = replica\narchive_mode = on\narchive_command = '{copy}'\n"
            f"archive_timeout = {archive_timeout()}\n"
        )
    return primary


def server_now(postgres: Postgres, db: str) -> tuple[str, float]:
    """The server's clock, as PostgreSQL writes it (for recovery_target_time) and as epoch seconds."""
    text, epoch = postgres.psql(
        "SELECT t::text, extract(epoch FROM t) FROM (SELECT clock_timestamp() AS t) AS now", db=db
    ).split("|")
    return text, float(epoch)


def archiver(postgres: Postgres) -> dict[str, Any]:
    wal, archived_at, failed = postgres.psql(
        "SELECT coalesce(last_archived_wal, ''), coalesce(extract(epoch FROM last_archived_time), 0), failed_count "
        "FROM pg_stat_archiver"
    ).split("|")
    return {"last_archived_wal": wal, "last_archived_at": float(archived_at), "failed_count": int(failed)}


def archive_everything(postgres: Postgres, timeout: float = 120) -> str:
    """Closes the current WAL segment and waits until the archiver has copied it."""
    segment = postgres.psql("SELECT pg_walfile_name(pg_switch_wal())")
    wait_until(lambda: archiver(postgres)["last_archived_wal"] >= segment, timeout, f"WAL segment {segment} archived")
    return segment


def base_backup(config: Config, primary: Postgres, target: Path) -> dict[str, Any]:
    started = time.time()
    as_pg_user(
        config, str(config.pg_bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(config.pg_port), "-U", "postgres",
        "-D", str(target), "--wal-method=none", "--checkpoint=fast", "--no-sync",
    )  # fmt: skip
    size = sum(path.stat().st_size for path in target.rglob("*") if path.is_file())
    return {"started_at": started, "seconds": round(time.time() - started, 1), "bytes": size}


def restore(config: Config, base: Path, archive: Path, target_time: str) -> Postgres:
    """The base backup copied into a new data directory, recovered from the archive up to the
    target and promoted there; returns the running, promoted cluster."""
    restored = Postgres(config, directory=owned_directory(config, OUT / "restored"))
    as_pg_user(config, "cp", "-a", str(base), str(restored.data))
    with (restored.data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"\n# The restore drill's point-in-time recovery\nport = {config.pg_port}\n"
            f"unix_socket_directories = '{restored.directory}'\narchive_mode = off\n"
            f"restore_command = 'cp {archive}/%f %p'\nrecovery_target_time = '{target_time}'\n"
            "recovery_target_action = 'promote'\n"
        )
    as_pg_user(config, "touch", str(restored.data / "recovery.signal"))
    restored.start()
    wait_until(lambda: restored.psql("SELECT pg_is_in_recovery()") == "f", 600, "the restored cluster to be promoted")
    return restored


def verify_audit(config: Config) -> dict[str, Any]:
    env = {**config.app_env(), "DATABASE_URL": config.database_url}
    run = subprocess.run(
        [PY, "manage.py", "verify_audit"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )  # fmt: skip
    return {"ok": run.returncode == 0, "output": (run.stdout + run.stderr).strip().splitlines()[-6:]}


def submissions_in(restored: Postgres, db: str, accepted: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The groups of the accepted submissions as the restored database has them."""
    if not accepted:
        return {}
    ids = ",".join(str(int(a["group_id"])) for a in accepted)
    rows = restored.psql(
        "SELECT g.id, coalesce(g.idempotency_key, ''), coalesce(g.number, ''), g.submitted_at IS NOT NULL, "
        "(SELECT count(*) FROM workflows_application a WHERE a.group_id = g.id) "
        f"FROM workflows_applicationgroup g WHERE g.id IN ({ids})",
        db=db,
    )
    found = {}
    for line in rows.splitlines():
        group_id, key, number, submitted, applications = line.split("|")
        found[int(group_id)] = {
            "key": key,
            "number": number,
            "submitted": submitted == "t",
            "applications": int(applications),
        }
    return found


def check(accepted: list[dict[str, Any]], found: dict[int, dict[str, Any]], target: float) -> dict[str, Any]:
    """Accepted before the target (the answer read before it): there, as the API said. Sent
    after it (the first request after it): not there as submitted. In between: either."""
    before, after, between = [], [], []
    for submission in accepted:
        if submission["answered_at"] < target:
            before.append(submission)
        elif submission["sent_at"] > target:
            after.append(submission)
        else:
            between.append(submission)
    missing = [
        s
        for s in before
        if not (
            (row := found.get(s["group_id"]))
            and row["submitted"]
            and row["key"] == s["key"]
            and row["number"] == s["number"]
            and row["applications"] == 1
        )
    ]
    present_after = [s for s in after if (row := found.get(s["group_id"])) and row["submitted"]]
    return {
        "accepted_before_target": len(before),
        "accepted_after_target": len(after),
        "accepted_around_target": len(between),
        "around_target_recovered": sum(1 for s in between if (row := found.get(s["group_id"])) and row["submitted"]),
        "missing_before_target": missing[:20],
        "missing_before_target_count": len(missing),
        "present_after_target": present_after[:20],
        "present_after_target_count": len(present_after),
    }


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s drill %(message)s", stream=sys.stdout)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    config = drill_config()
    config.web_port, config.pg_port, config.redis_port = free_port(), free_port(), free_port()
    prepare_out(config)
    archive = owned_directory(config, OUT / "archive")
    base = owned_directory(config, OUT / "base") / "data"
    primary = archiving_primary(config, archive)
    redis_server = Redis(config, directory=OUT / "redis")
    stack = Stack(config)
    restored: Postgres | None = None
    results: dict[str, Any] = {
        "load_seconds": config.seconds,
        "citizens": config.citizens,
        "archive_timeout_seconds": archive_timeout(),
    }
    ok = False
    drill_started = time.monotonic()
    try:
        from soak.load import Tally, accepted_as_dicts, citizen_loop, clerk_loop
        from soak.run import reconnect, seed, setup_django

        primary.start()
        primary.psql(f'CREATE DATABASE "{config.db_name}"')
        redis_server.start()
        setup_django(config)
        logger.setLevel(logging.INFO)
        people = seed(config)
        reconnect()
        stack.start_all()
        stack.wait_healthy()

        tally = Tally()
        stop_load, stop_clerks = threading.Event(), threading.Event()
        citizens = [
            threading.Thread(
                target=citizen_loop,
                args=(person, config.base_url, people["lease_pdf"], tally, stop_load, i, config.think_seconds),
                daemon=True,
            )
            for i, person in enumerate(people["citizens"])
        ]
        clerks = [
            threading.Thread(target=clerk_loop, args=(person, config.base_url, tally, stop_clerks), daemon=True)
            for person in people["clerks"]
        ]
        for thread in (*citizens, *clerks):
            thread.start()
        load_started = time.monotonic()

        def load_until(fraction: float) -> None:
            while time.monotonic() - load_started < config.seconds * fraction:
                time.sleep(0.5)

        load_until(BACKUP_AT)
        logger.info("base backup while the load runs (%s accepted so far)", len(tally.accepted))
        results["base_backup"] = base_backup(config, primary, base)
        logger.info("base backup: %s", results["base_backup"])
        load_until(TARGET_AT)
        target_text, target = server_now(primary, config.db_name)
        at_target = archiver(primary)
        results["target"] = {
            "time": target_text,
            "accepted_so_far": len(tally.accepted),
            "archiver": at_target,
            # Lost with the primary's disk at that moment: the WAL written since the last archived segment.
            "archive_lag_seconds": round(target - at_target["last_archived_at"], 3)
            if at_target["last_archived_at"]
            else None,
        }
        logger.info("recovery target %s (%s accepted so far)", target_text, len(tally.accepted))
        load_until(1.0)
        stop_load.set()
        for thread in citizens:
            thread.join(60)
        stop_clerks.set()
        for thread in clerks:
            thread.join(30)
        results["last_segment"] = archive_everything(primary)
        results["archiver_at_end"] = archiver(primary)
        results["load"] = tally.as_dict()
        accepted = accepted_as_dicts(tally)

        # The primary is lost: nothing of it is used from here on.
        stack.stop()
        redis_server.kill()
        primary.stop(mode="immediate", check=False)
        restore_started = time.monotonic()
        restore_config = replace(config, pg_port=free_port())
        restored = restore(restore_config, base, archive, target_text)
        promoted_after = time.monotonic() - restore_started
        last_commit = float(
            restored.psql("SELECT coalesce(extract(epoch FROM pg_last_xact_replay_timestamp()), 0)") or 0
        )
        audit = verify_audit(restore_config)
        checks = check(accepted, submissions_in(restored, config.db_name, accepted), target)
        # Accepted after the base backup ended and before the target: only the archived WAL has them.
        backup_ended = results["base_backup"]["started_at"] + results["base_backup"]["seconds"]
        checks["accepted_after_backup_before_target"] = sum(
            1 for a in accepted if backup_ended < a["sent_at"] and a["answered_at"] < target
        )
        later_rows = int(
            restored.psql(
                f"SELECT count(*) FROM workflows_applicationgroup WHERE submitted_at > '{target_text}'",
                db=config.db_name,
            )
        )
        rto = time.monotonic() - restore_started
        results.update(
            {
                "accepted": len(accepted),
                "checks": {**checks, "groups_submitted_after_target_in_restore": later_rows},
                "verify_audit": audit,
                "last_recovered_commit": iso(last_commit) if last_commit else None,
                "rpo_seconds": round(target - last_commit, 3) if last_commit else None,
                "rto_seconds": round(rto, 1),
                "rto_promoted_seconds": round(promoted_after, 1),
                "wal_segments_archived": len(list(archive.glob("0*"))),
            }
        )
        ok = (
            audit["ok"]
            and checks["accepted_before_target"] > 0
            and checks["accepted_after_backup_before_target"] > 0
            and checks["missing_before_target_count"] == 0
            and checks["present_after_target_count"] == 0
            and later_rows == 0
        )
    except Exception as exc:
        logger.exception("the restore drill could not run")
        results["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        results["ok"] = ok
        results["drill_seconds"] = round(time.monotonic() - drill_started, 1)
        stack.stop()
        redis_server.kill()
        primary.stop(mode="immediate", check=False)
        if restored is not None:
            restored.stop(mode="fast", check=False)
        (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str))
        logger.info(
            "accepted=%s rpo=%ss rto=%ss verify_audit=%s ok=%s; %s",
            results.get("accepted"), results.get("rpo_seconds"), results.get("rto_seconds"),
            results.get("verify_audit", {}).get("ok"), ok, OUT / "results.json",
        )  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
