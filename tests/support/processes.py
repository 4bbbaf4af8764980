"""Real processes for integration and fault tests: Celery workers, throwaway Redis and
PostgreSQL servers, and a throwaway virtual host on the machine's RabbitMQ.

Fault tests kill and restart these; they never touch the machine's own services (on RabbitMQ,
only the virtual host each test run creates and deletes).
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis
from django.conf import settings
from django.db import connection
from kombu import pools

from accounts.demo import DEPARTMENTS
from portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
ALL_QUEUES = ",".join(["default", *(f"dept.{code}" for code, *_ in DEPARTMENTS)])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.1, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def test_database_url() -> str:
    """The URL of the database pytest-django created, for processes outside this one."""
    params = connection.settings_dict
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    user = params.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{params['NAME']}"


@dataclass
class ThrowawayRedis:
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(answers, 10, message="throwaway redis")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


POSTGRES_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL server of its own: own data directory, own port, trust authentication.
    `stop()` is an immediate shutdown, as when the server crashes or the network drops.
    initdb and pg_ctl refuse to run as root; under root they run as `nobody`."""

    directory: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def _pg(self, program: str, *args: str) -> None:
        assert POSTGRES_BIN, "no PostgreSQL server binaries under /usr/lib/postgresql"
        as_owner = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_owner, str(POSTGRES_BIN / program), *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "nobody", "nogroup")
        self._pg(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -F"
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def migrate(self) -> None:
        """Creates the portal's tables, in a separate process so this one's caches stay clean."""
        env = {**os.environ, "DATABASE_URL": self.url, "PORTAL_ENV": "test"}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True, timeout=120
        )


RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


def is_amqp(url: str) -> bool:
    return url.startswith(("amqp://", "amqps://", "pyamqp://"))


@dataclass
class RabbitMQVhost:
    """A virtual host of its own on the machine's RabbitMQ (TEST_RABBITMQ_URL, default
    guest@127.0.0.1:5672), made with `rabbitmqctl` and deleted with everything in it."""

    name: str = field(default_factory=lambda: f"onedoor-test-{uuid.uuid4().hex[:10]}")
    server: str = RABBITMQ_URL

    @property
    def url(self) -> str:
        return self.server.rstrip("/") + "/" + self.name

    def _ctl(self, *args: str) -> None:
        rabbitmqctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
        done = subprocess.run([rabbitmqctl, *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")

    def create(self) -> None:
        user = urlparse(self.server).username or "guest"
        reachable(self.server, "RabbitMQ")
        self._ctl("add_vhost", self.name)
        self._ctl("set_permissions", "-p", self.name, user, ".*", ".*", ".*")

    def delete(self) -> None:
        self._ctl("delete_vhost", self.name)

    def queues(self) -> dict[str, dict[str, str]]:
        """Each queue of the virtual host with its type and messages (`rabbitmqctl list_queues`)."""
        rabbitmqctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
        out = subprocess.run(
            [rabbitmqctl, "list_queues", "-q", "--no-table-headers", "-p", self.name, "name", "type", "durable",
             "messages"],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout  # fmt: skip
        found = {}
        for line in out.splitlines():
            name, queue_type, durable, messages = line.split("\t")
            found[name] = {"type": queue_type, "durable": durable, "messages": messages}
        return found


def reachable(url: str, what: str) -> None:
    """Fails loudly (never skips) when a service the suite needs is not listening."""
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5672), timeout=3).close()
    except OSError as exc:
        pytest.fail(
            f"{what} is not reachable at {parsed.hostname}:{parsed.port}: {exc}. "
            "Start it with `rabbitmq-server -detached` or point TEST_RABBITMQ_URL at one.",
            pytrace=False,
        )


@dataclass
class WorkerProcess:
    broker_url: str
    log_path: Path
    queues: str = ALL_QUEUES
    concurrency: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    name: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:8]}@localhost")

    def start(self, wait: bool = True) -> None:
        # RabbitMQ is chosen by BROKER_URL, Redis by REDIS_URL (then also the cache).
        broker = {"BROKER_URL": self.broker_url} if is_amqp(self.broker_url) else {"REDIS_URL": self.broker_url}
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "BROKER_URL": "",
            **broker,
            "PORTAL_ENV": "test",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            **self.extra_env,
        }
        self.log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "-l", "info", "-Q", self.queues,
             "-c", str(self.concurrency), "-n", self.name, "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        def answers() -> bool:
            assert self.process and self.process.poll() is None, f"worker exited; see {self.log_path}"
            with celery_app.connection_for_write(self.broker_url) as conn:
                replies = celery_app.control.ping(destination=[self.name], timeout=0.5, connection=conn)
            return bool(replies)

        wait_until(answers, timeout, interval=0.2, message=f"celery worker {self.name}")

    def child_pids(self) -> list[int]:
        assert self.process
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def kill(self) -> None:
        """kill -9 the whole worker (main process and pool children)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process:
            # Pool children the main process did not take down with it must not outlive the test.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if hasattr(self, "log_file"):
            self.log_file.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def producer_broker(url: str) -> Iterator[None]:
    """Points this process's task sending (and control pings) at another broker, e.g. a throwaway
    Redis or a RabbitMQ virtual host (with the settings a RabbitMQ deployment has: quorum queues,
    publisher confirms); afterwards the original broker's pools and settings are restored so
    later tests never talk to the throwaway one."""
    options = settings.RABBITMQ_CELERY_OPTIONS if is_amqp(url) else {}
    previous = {name: celery_app.conf[name] for name in ("broker_url", *options)}

    def switch(to: dict[str, object]) -> None:
        pools.reset()  # drops kombu's cached connection and producer pools of the old broker
        celery_app.conf.update(to)
        celery_app.__dict__.pop("amqp", None)  # queues, exchanges and routes made again from the settings
        celery_app._after_fork()

    switch({"broker_url": url, **options})
    try:
        yield
    finally:
        switch(previous)


@pytest.fixture
def throwaway_redis(tmp_path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(directory=tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """Initialised and started, with no tables. Its directory is not under tmp_path, which
    `nobody` cannot enter when the tests run as root."""
    directory = Path(tempfile.mkdtemp(prefix="onedoor-postgres-"))
    server = ThrowawayPostgres(directory=directory)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def rabbitmq_vhost() -> Iterator[RabbitMQVhost]:
    """One throwaway virtual host per test run on the machine's RabbitMQ, deleted at the end.
    A RabbitMQ that is not running fails the tests that need it (never a silent skip)."""
    vhost = RabbitMQVhost()
    vhost.create()
    try:
        yield vhost
    finally:
        vhost.delete()


@pytest.fixture
def use_broker(transactional_db) -> Iterator[None]:
    """Sends tasks to the real broker instead of running them in-process."""
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = True


@pytest.fixture
def worker_factory(tmp_path, use_broker) -> Iterator:
    started: list[WorkerProcess] = []

    def start(broker_url: str | None = None, **kwargs) -> WorkerProcess:
        worker = WorkerProcess(
            broker_url=broker_url or settings.CELERY_BROKER_URL,
            log_path=tmp_path / f"worker-{len(started)}.log",
            **kwargs,
        )
        started.append(worker)  # before start(): a worker that never got ready is still stopped
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_worker(worker_factory) -> WorkerProcess:
    """A real `celery worker` process on every queue, against the test database and broker."""
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    return worker_factory()
