# ruff: noqa: S603, S607, S310 - fixed command lines and our own local server
"""Starts and stops the real stack for the bench: a fresh PostgreSQL database, Redis db,
gunicorn, a Celery worker on every queue and the beat; samples their memory."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.config import OUT, ROOT, Config

PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
BIN = Path(PY).parent


def psql(config: Config, sql: str, db: str = "postgres") -> str:
    result = subprocess.run(
        ["psql", "-h", config.pg_host, "-p", str(config.pg_port), "-U", config.pg_user, "-d", db, "-XAtqc", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def database_recreate(config: Config) -> None:
    """Drops and creates the bench database (only ours: BENCH_DB_NAME)."""
    psql(config, f'DROP DATABASE IF EXISTS "{config.db_name}" WITH (FORCE)')
    psql(config, f'CREATE DATABASE "{config.db_name}"')


def database_drop(config: Config) -> None:
    psql(config, f'DROP DATABASE IF EXISTS "{config.db_name}" WITH (FORCE)')


def database_exists(config: Config) -> bool:
    name = config.db_name.replace("'", "''")
    return psql(config, f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"  # noqa: S608 - our own knob


def redis_flush(config: Config) -> None:
    import redis

    redis.Redis.from_url(config.redis_url).flushdb()


def manage(config: Config, *args: str) -> str:
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=config.app_env(), check=True, capture_output=True, text=True
    )
    return result.stdout


def machine(config: Config) -> dict[str, object]:
    import redis

    info = redis.Redis.from_url(config.redis_url).info("server")
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "postgres": psql(config, "SHOW server_version").split()[0],
        "redis": info.get("redis_version"),
        "python": sys.version.split()[0],
    }


@dataclass
class Stack:
    config: Config
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: list = field(default_factory=list)

    def _start(self, name: str, argv: list[str]) -> None:
        log = open(OUT / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        self.logs.append(log)
        self.processes[name] = subprocess.Popen(
            argv, cwd=ROOT, env=self.config.app_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start(self) -> None:
        c = self.config
        queues = manage(c, "worker_queues").strip()
        web = [
            str(BIN / "gunicorn"),
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{c.port}",
            "--workers",
            str(c.web_workers),
            "--worker-class",
            c.web_class,
            "--backlog",
            "2048",
            "--timeout",
            "60",
        ]
        if c.web_class == "gthread":
            web += ["--threads", str(c.web_threads)]
        self._start("gunicorn", web)
        self._start(
            "worker",
            [str(BIN / "celery"), "-A", "portal", "worker", "-l", "warning", "-Q", queues,
             "--concurrency", str(c.worker_concurrency), "--hostname", f"bench@{os.uname().nodename}"],
        )  # fmt: skip
        self._start(
            "beat",
            [str(BIN / "celery"), "-A", "portal", "beat", "-l", "warning",
             "--schedule", str(OUT / "celerybeat-schedule")],
        )  # fmt: skip

    def wait_healthy(self, timeout: float = 90) -> dict:
        """Until /healthz answers 200 with the database, the broker and a worker seen."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see var/bench/{name}.log")
            try:
                with urllib.request.urlopen(f"{self.config.base_url}/healthz", timeout=3) as response:
                    body = json.loads(response.read())
                    if isinstance(body.get("workers"), int) and body["workers"] >= 1:
                        return body
                    last = body
            except Exception as exc:  # noqa: BLE001 - not up yet
                last = exc
            time.sleep(0.5)
        raise RuntimeError(f"the stack did not become healthy in {timeout:.0f} s: {last}")

    def wait_quiet(self, *, timeout: float = 300, window: float = 2.0, busy_percent: float = 10.0) -> dict:
        """Until the machine is idle: the earlier scenarios leave work behind (the ceiling's
        replays queue thousands of notifications and certificates for the worker), which would
        otherwise run during the next measurement. Idle: two windows in a row with the whole
        machine's CPU below `busy_percent`; gives up after `timeout` (the figures say so)."""
        started = time.monotonic()
        quiet = 0
        busy = 100.0
        while time.monotonic() - started < timeout:
            busy = psutil.cpu_percent(interval=window)
            quiet = quiet + 1 if busy < busy_percent else 0
            if quiet >= 2:
                break
        return {"seconds": round(time.monotonic() - started, 1), "cpu_percent": busy, "quiet": quiet >= 2}

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            del name
        for log in self.logs:
            log.close()
        self.processes.clear()

    def pids(self, name: str) -> list[psutil.Process]:
        """The processes that do the work: gunicorn's workers, the Celery worker's main process
        and its pool children."""
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return []
        parent = psutil.Process(process.pid)
        children = parent.children(recursive=True)
        if name == "gunicorn":
            return children
        return [parent, *children]


class MemorySampler(threading.Thread):
    """Samples the resident memory of each web worker and each Celery process every 0.5 s.

    Finding a stack's processes walks every process on the machine (about 2 ms); reading a
    known process's memory takes microseconds. So the processes are looked up again only every
    `refresh` seconds, or as soon as one of them has ended (a worker replaced), and the sampler
    spends little of the CPU the bench is measuring."""

    def __init__(self, stack: Stack, *, every: float = 0.5, refresh: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.every, self.refresh = every, refresh
        self.peak = {"web": 0.0, "worker": 0.0, "worker_total": 0.0, "web_total": 0.0}
        self._stop_event = threading.Event()

    def run(self) -> None:
        known: dict[str, list[psutil.Process]] = {}
        looked_up = time.monotonic()
        while not self._stop_event.wait(self.every):
            if time.monotonic() - looked_up >= self.refresh:
                known, looked_up = {}, time.monotonic()
            for name, key in (("gunicorn", "web"), ("worker", "worker")):
                sizes = self._sizes(known.get(name))
                if sizes is None:  # not looked up yet, or one of them has ended
                    known[name] = self.stack.pids(name)
                    sizes = self._sizes(known[name]) or []
                if sizes:
                    self.peak[key] = max(self.peak[key], max(sizes))
                    self.peak[f"{key}_total"] = max(self.peak[f"{key}_total"], sum(sizes))

    @staticmethod
    def _sizes(processes: list[psutil.Process] | None) -> list[float] | None:
        """Resident MB of each process; None when there are none to read or one has ended."""
        if not processes or not all(process.is_running() for process in processes):
            return None
        try:
            return [process.memory_info().rss / 2**20 for process in processes]
        except psutil.Error:
            return None

    def stop(self) -> dict[str, float]:
        self._stop_event.set()
        self.join(timeout=5)
        return {key: round(value, 1) for key, value in self.peak.items()}
