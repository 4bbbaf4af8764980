# ruff: noqa: S603 - fixed command lines for our own throwaway servers
"""The soak's own stack, all under var/soak and on free ports, nothing shared with the machine's
services: a throwaway PostgreSQL cluster (initdb'd afresh, run as the `postgres` OS user because
PostgreSQL refuses to run as root), a throwaway redis-server, gunicorn, a Celery worker on every
queue and the beat. Each piece can be killed and started again."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from soak.config import OUT, ROOT, Config

PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
BIN = Path(PY).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def _as_os_user(config: Config, argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", config.pg_user, "--", *argv]


@dataclass
class Postgres:
    config: Config
    directory: Path = OUT / "pg"

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [str(self.config.pg_bin / "pg_ctl"), "-D", str(self.data), *args]
        return subprocess.run(_as_os_user(self.config, argv), capture_output=True, text=True, check=check)

    def init(self) -> None:
        if self.directory.exists():
            self.stop(mode="immediate", check=False)
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, user=self.config.pg_user)
        argv = [str(self.config.pg_bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                "--no-sync", "-E", "UTF8", "--locale", "C"]  # fmt: skip
        subprocess.run(_as_os_user(self.config, argv), capture_output=True, text=True, check=True)
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.config.pg_port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.directory}'\nmax_connections = 200\n"
                # A process crash (what we inject) keeps what the OS has: fsync only guards power loss.
                "fsync = off\nlog_min_messages = warning\n"
            )

    def start(self) -> None:
        self._ctl("-l", str(self.directory / "postgres.log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast", check: bool = True) -> None:
        if (self.data / "postmaster.pid").exists():
            self._ctl("-m", mode, "-w", "-t", "60", "stop", check=check)

    def restart_immediate(self, down_seconds: float) -> None:
        """pg_ctl -m immediate: every backend killed, no checkpoint; crash recovery on start."""
        self.stop(mode="immediate")
        time.sleep(down_seconds)
        self.start()

    def psql(self, sql: str, db: str = "postgres") -> str:
        argv = ["psql", "-h", "127.0.0.1", "-p", str(self.config.pg_port), "-U", "postgres", "-d", db, "-XAtqc", sql]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


@dataclass
class Redis:
    config: Config
    directory: Path = OUT / "redis"
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.config.redis_port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        import redis

        client = redis.Redis(port=self.config.redis_port, socket_connect_timeout=0.2)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(answers, 20, "the throwaway redis")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self, down_seconds: float) -> None:
        """kill -9 and start again, empty: every queued and unacknowledged message is gone."""
        self.kill()
        time.sleep(down_seconds)
        self.start()


@dataclass
class Stack:
    """gunicorn, the Celery worker and the beat, against the throwaway PostgreSQL and Redis."""

    config: Config
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)
    queues: str = ""

    def _argv(self, name: str) -> list[str]:
        c = self.config
        if name == "gunicorn":
            return [str(BIN / "gunicorn"), "portal.wsgi:application", "--bind", f"127.0.0.1:{c.web_port}",
                    "--workers", str(c.web_workers), "--worker-class", "gthread", "--threads", "4",
                    "--timeout", "60", "--graceful-timeout", "5"]  # fmt: skip
        if name == "worker":
            if not self.queues:  # every queue: default and one per department (asked once)
                command = [PY, "manage.py", "worker_queues"]
                found = subprocess.run(command, cwd=ROOT, env=c.app_env(), capture_output=True, text=True, check=True)
                self.queues = found.stdout.strip()
            return [str(BIN / "celery"), "-A", "portal", "worker", "-l", "warning", "-Q", self.queues,
                    "--concurrency", str(c.worker_concurrency), "--hostname", f"soak-{time.time_ns()}@localhost",
                    "--without-gossip", "--without-mingle"]  # fmt: skip
        if name == "beat":
            return [str(BIN / "celery"), "-A", "portal", "beat", "-l", "warning",
                    "--schedule", str(c.out / "celerybeat-schedule")]  # fmt: skip
        raise ValueError(name)

    def start(self, name: str) -> None:
        log = (self.config.out / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            self._argv(name), cwd=ROOT, env=self.config.app_env(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()

    def start_all(self) -> None:
        for name in ("gunicorn", "worker", "beat"):
            self.start(name)

    def alive(self, name: str) -> bool:
        process = self.processes.get(name)
        return process is not None and process.poll() is None

    def restart_dead(self) -> list[str]:
        restarted = []
        for name in ("gunicorn", "worker", "beat"):
            if not self.alive(name):
                self.start(name)
                self.restarts[name] = self.restarts.get(name, 0) + 1
                restarted.append(name)
        return restarted

    def worker_children(self) -> list[int]:
        process = self.processes.get("worker")
        if process is None or process.poll() is not None:
            return []
        try:
            return [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
        except psutil.Error:
            return []

    def kill(self, name: str) -> None:
        """kill -9 the whole process group (main process and its children)."""
        process = self.processes.get(name)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(20)

    def wait_healthy(self, timeout: float = 120) -> dict:
        import json

        last: Any = None

        def healthy() -> bool:
            nonlocal last
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.config.out / name}.log")
            try:
                with urllib.request.urlopen(f"{self.config.base_url}/healthz", timeout=3) as response:  # noqa: S310
                    last = json.loads(response.read())
                    return isinstance(last.get("workers"), int) and last["workers"] >= 1
            except Exception as exc:  # noqa: BLE001 - not up yet
                last = exc
                return False

        try:
            wait_until(healthy, timeout, "the stack to answer /healthz with a worker", interval=0.5)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: {last}") from None
        return last  # type: ignore[return-value]

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
