# ruff: noqa: S603 - fixed command lines for our own throwaway servers
"""`make cluster` / `make cluster-soak`: One Door as several hosts on one machine.

`python -m soak.cluster` builds seven hosts, each a Linux network namespace (soak/network.py):

| host | address | runs |
|---|---|---|
| db1 | 127.200.0.10 | PostgreSQL primary (5433) behind a latency proxy (5432, soak/delay_proxy.py) |
| db2 | 127.200.0.11 | PostgreSQL streaming replica (5433), synchronous, promoted when db1 stops |
| broker | 127.200.0.20 | Redis (6379) |
| web1, web2 | 127.200.0.31, .32 | gunicorn (8000) |
| work1, work2 | 127.200.0.41, .42 | Celery workers on different department queues; beat on work2 |

HAProxy (Debian's package) runs in the machine's own namespace on 127.0.0.1 and balances the
two web hosts. Every process of the portal reaches the database by configuration only:
`DATABASE_URL=postgres://…@127.200.0.10:5432,127.200.0.11:5433/…?target_session_attrs=read-write`,
so after the promotion libpq finds the new primary by itself.

`--hold` keeps the cluster up until Ctrl-C (`make cluster`). Otherwise (`make cluster-soak`)
the soak's citizens and clerks (soak/load.py) drive it through HAProxy for CLUSTER_SECONDS while
the faults below come and go, then the work drains and soak/checks.py verifies the database;
results go to var/cluster/results.json and the exit status is 1 when anything was lost or
done twice. Faults: a worker host partitioned for 30 s (its link down), 200 ms of added
round-trip latency on the database link for 30 s, a web host killed (-9) under load and
started again, and once, at 60 % of the run, the primary stopped and the replica promoted.
Needs root (network namespaces) and PostgreSQL's server binaries; the Makefile installs HAProxy.
"""

import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soak.config import ROOT, Config
from soak.network import Host, Network
from soak.stack import BIN, PY, Stack, _as_os_user, free_port, wait_until

logger = logging.getLogger("soak")
OUT = ROOT / "var" / "cluster"
DB1, DB2 = Host("db1", 10), Host("db2", 11)
BROKER = Host("broker", 20)
WEB = (Host("web1", 31), Host("web2", 32))
WORK = (Host("work1", 41), Host("work2", 42))
HOSTS = [DB1, DB2, BROKER, *WEB, *WORK]
PG_PORT, PROXY_PORT, WEB_PORT = 5433, 5432, 8000
PARTITION_SECONDS = 30
LATENCY_MS = 200  # round trip: half on the way in, half on the way out
LATENCY_SECONDS = 30
FAULTS = ("partition_worker", "database_latency", "kill_web")  # and, once, promote_replica


@dataclass
class ClusterConfig(Config):
    lb_port: int = int(os.environ.get("CLUSTER_LB_PORT", 0))
    db_name: str = "onedoor_cluster"
    out: Path = OUT  # logs, uploads (one directory every host sees) and the beat's schedule

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.lb_port}"

    @property
    def database_url(self) -> str:
        hosts = f"{DB1.address}:{PROXY_PORT},{DB2.address}:{PG_PORT}"
        return f"postgres://postgres@{hosts}/{self.db_name}?target_session_attrs=read-write&connect_timeout=3"

    @property
    def redis_url(self) -> str:
        return f"redis://{BROKER.address}:6379/0"


@dataclass
class HostPostgres:
    """A PostgreSQL server on one host, run as the `postgres` OS user inside its namespace."""

    config: ClusterConfig
    host: Host

    @property
    def directory(self) -> Path:
        return OUT / self.host.name

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def _run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
        argv = self.host.argv(_as_os_user(self.config, argv))
        return subprocess.run(argv, capture_output=True, text=True, check=check)

    def _fresh_directory(self) -> None:
        self.directory.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, user=self.config.pg_user)

    def _configure(self, extra: str = "") -> None:
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {PG_PORT}\nlisten_addresses = '{self.host.address}'\n"
                f"unix_socket_directories = '{self.directory}'\nmax_connections = 200\n"
                "fsync = off\nlog_min_messages = warning\nwal_keep_size = '1GB'\n" + extra
            )

    def init_primary(self) -> None:
        self._fresh_directory()
        self._run([str(self.config.pg_bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                   "--no-sync", "-E", "UTF8", "--locale", "C"])  # fmt: skip
        self._configure()
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write("host all all 127.200.0.0/24 trust\nhost replication all 127.200.0.0/24 trust\n")

    def init_replica(self, primary: "HostPostgres") -> None:
        self._fresh_directory()
        self._run(["pg_basebackup", "-h", primary.host.address, "-p", str(PG_PORT), "-U", "postgres",
                   "-D", str(self.data), "-X", "stream", "-R", "--checkpoint=fast"])  # fmt: skip
        # The standby's own settings (the primary's were copied with the backup); once promoted it
        # has no standby of its own, so it must not wait for one.
        self._configure("synchronous_standby_names = ''\n")
        with (self.data / "postgresql.auto.conf").open("a") as auto:
            auto.write(f"primary_conninfo = 'host={primary.host.address} port={PG_PORT} user=postgres "
                       f"application_name={self.host.name}'\n")  # fmt: skip

    def start(self) -> None:
        self._run([str(self.config.pg_bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "postgres.log"),
                   "-w", "-t", "60", "start"])  # fmt: skip

    def stop(self, mode: str = "fast", check: bool = True) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run([str(self.config.pg_bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"],
                      check=check)  # fmt: skip

    def promote(self) -> None:
        self._run([str(self.config.pg_bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "promote"])

    def psql(self, sql: str, db: str = "postgres") -> str:
        argv = ["psql", "-h", self.host.address, "-p", str(PG_PORT), "-U", "postgres", "-d", db, "-XAtqc", sql]
        return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout.strip()


@dataclass
class ClusterStack(Stack):
    """The portal's processes, each on its host; plus the latency proxy, Redis and HAProxy."""

    config: ClusterConfig  # type: ignore[assignment]
    names: tuple[str, ...] = ("web1", "web2", "work1", "work2", "beat")
    worker_queues: dict[str, str] = field(default_factory=dict)

    def split_queues(self) -> None:
        command = [PY, "manage.py", "worker_queues"]
        found = subprocess.run(command, cwd=ROOT, env=self.config.app_env(), capture_output=True, text=True, check=True)
        queues = found.stdout.strip().split(",")
        departments = [q for q in queues if q not in ("default", "transparency")]
        first, second = departments[0::2], departments[1::2]
        # The load's two departments end up on different worker hosts.
        market, tax = [next((q for q in departments if q.endswith(code)), "") for code in ("market", "tax")]
        if market and tax and (market in first) == (tax in first):
            source, target = (first, second) if tax in first else (second, first)
            source.remove(tax)
            target.append(tax)
        self.worker_queues = {
            "work1": ",".join(["default", "transparency", *first]),
            "work2": ",".join(["default", *second]),
        }
        logger.info("worker queues: %s", self.worker_queues)

    def _host(self, name: str) -> Host:
        return {"web1": WEB[0], "web2": WEB[1], "work1": WORK[0], "work2": WORK[1], "beat": WORK[1]}[name]

    def _argv(self, name: str) -> list[str]:
        c = self.config
        host = self._host(name)
        if name.startswith("web"):
            argv = [str(BIN / "gunicorn"), "portal.wsgi:application", "--bind", f"{host.address}:{WEB_PORT}",
                    "--workers", "1", "--worker-class", "gthread", "--threads", "4",
                    "--timeout", "60", "--graceful-timeout", "5"]  # fmt: skip
        elif name.startswith("work"):
            argv = [str(BIN / "celery"), "-A", "portal", "worker", "-l", "warning", "-Q", self.worker_queues[name],
                    "--concurrency", str(c.worker_concurrency), "--hostname", f"{name}-{time.time_ns()}@{host.address}",
                    "--without-gossip", "--without-mingle"]  # fmt: skip
        else:
            argv = [str(BIN / "celery"), "-A", "portal", "beat", "-l", "warning",
                    "--schedule", str(OUT / "celerybeat-schedule")]  # fmt: skip
        return host.argv(argv)

    def start_all(self) -> None:
        for name in self.names:
            self.start(name)

    def restart_dead(self) -> list[str]:
        restarted = []
        for name in self.names:
            if not self.alive(name):
                self.start(name)
                self.restarts[name] = self.restarts.get(name, 0) + 1
                restarted.append(name)
        return restarted


class Infrastructure:
    """The latency proxy on db1, Redis on the broker host and HAProxy on the machine."""

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.processes: dict[str, subprocess.Popen] = {}
        self.delay_file = OUT / "db-delay-ms"

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = (OUT / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def start_proxy(self) -> None:
        listen, upstream = f"{DB1.address}:{PROXY_PORT}", f"{DB1.address}:{PG_PORT}"
        self._spawn("proxy", DB1.argv([PY, "-m", "soak.delay_proxy", listen, upstream, str(self.delay_file)]))

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(20)

    def start_redis(self) -> None:
        (OUT / "redis").mkdir(exist_ok=True)
        argv = [shutil.which("redis-server") or "redis-server", "--port", "6379", "--bind", BROKER.address,
                "--save", "", "--appendonly", "no", "--dir", str(OUT / "redis"), "--protected-mode", "no"]  # fmt: skip
        self._spawn("redis", BROKER.argv(argv))

    def start_haproxy(self) -> None:
        servers = "\n".join(f"  server {h.name} {h.address}:{WEB_PORT} check inter 1s fall 2 rise 1" for h in WEB)
        (OUT / "haproxy.cfg").write_text(
            "global\n  maxconn 1000\n"
            "defaults\n  mode http\n  timeout connect 3s\n  timeout client 120s\n  timeout server 120s\n"
            "  retries 2\n  option redispatch\n"
            f"frontend portal\n  bind 127.0.0.1:{self.config.lb_port}\n  default_backend web\n"
            f"backend web\n  balance roundrobin\n{servers}\n"
        )
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self._spawn("haproxy", [haproxy, "-f", str(OUT / "haproxy.cfg"), "-db"])

    def set_latency(self, milliseconds: int) -> None:
        self.delay_file.write_text(str(milliseconds // 2))  # each direction

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)


@dataclass
class ClusterChaos:
    """The cluster's faults, one at a time, in a shuffled deck; the promotion once."""

    stack: ClusterStack
    network: Network
    infra: Infrastructure
    primary: HostPostgres
    replica: HostPostgres
    rng: random.Random
    fault_min: float
    fault_max: float
    promote_after: float
    log: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.monotonic)
    promoted: bool = False
    faults: tuple[str, ...] = FAULTS

    def _record(self, fault: str, detail: str, at: float) -> None:
        self.log.append({"at_s": round(at, 1), "fault": fault, "detail": detail,
                         "seconds": round(time.monotonic() - self.started_at - at, 1)})  # fmt: skip
        logger.warning("fault at %.1f s: %s %s", at, fault, detail)

    def inject(self, fault: str, stop: threading.Event) -> None:
        at = time.monotonic() - self.started_at
        detail = ""
        if fault == "partition_worker":
            host = self.rng.choice(["work1", "work2"])
            self.network.partition(host)
            try:
                stop.wait(PARTITION_SECONDS)
            finally:
                self.network.heal(host)
            detail = f"{host} cut off for {PARTITION_SECONDS} s"
        elif fault == "database_latency":
            self.infra.set_latency(LATENCY_MS)
            try:
                stop.wait(LATENCY_SECONDS)
            finally:
                self.infra.set_latency(0)
            detail = f"+{LATENCY_MS} ms round trip for {LATENCY_SECONDS} s"
        elif fault == "kill_web":
            name = self.rng.choice(["web1", "web2"])
            self.stack.kill(name)
            time.sleep(self.rng.uniform(2, 5))
            self.stack.start(name)
            detail = f"{name} killed (-9) and started again"
        elif fault == "promote_replica":
            self.infra.stop("proxy")  # the whole db1 host goes: no connection reaches it
            self.primary.stop(mode="fast")
            self.replica.promote()
            wait_until(lambda: self.replica.psql("SELECT pg_is_in_recovery()") == "f", 60, "the promotion")
            self.promoted = True
            detail = "db1 stopped, db2 promoted"
        self._record(fault, detail, at)

    def run(self, stop: threading.Event) -> None:
        deck: list[str] = []
        while not stop.wait(self.rng.uniform(self.fault_min, self.fault_max)):
            if not self.promoted and 0 <= self.promote_after <= time.monotonic() - self.started_at:
                fault = "promote_replica"
            else:
                if not deck:
                    deck = list(self.faults)
                    self.rng.shuffle(deck)
                fault = deck.pop()
            try:
                self.inject(fault, stop)
            except Exception as exc:  # a fault that could not be injected fails the run
                self.failures.append(f"{fault}: {exc}")
                logger.exception("could not inject %s", fault)
            self.stack.restart_dead()

    def counts(self) -> dict[str, int]:
        return dict(Counter(entry["fault"] for entry in self.log))


def main() -> int:
    from soak.run import _stop_on_signal, reconnect, seed, setup_django, soak

    logging.basicConfig(level=logging.INFO, format="%(asctime)s cluster %(message)s", stream=sys.stdout)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    hold = "--hold" in sys.argv
    if os.geteuid() != 0:
        raise SystemExit("make cluster needs root: it creates network namespaces")
    config = ClusterConfig(seconds=int(os.environ.get("CLUSTER_SECONDS", 600)))
    config.drain_seconds = int(os.environ.get("CLUSTER_DRAIN_SECONDS", max(300, config.seconds)))
    config.seed = config.seed or random.SystemRandom().randrange(1, 2**31)
    config.lb_port = config.lb_port or free_port()
    config.fault_min = float(os.environ.get("CLUSTER_FAULT_MIN", 10))
    config.fault_max = float(os.environ.get("CLUSTER_FAULT_MAX", 20))
    rng = random.Random(config.seed)
    if OUT.exists():
        for leftover in ("db1", "db2"):
            HostPostgres(config, DB1 if leftover == "db1" else DB2).stop(mode="immediate", check=False)
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    network = Network(HOSTS)
    primary, replica = HostPostgres(config, DB1), HostPostgres(config, DB2)
    infra = Infrastructure(config)
    stack = ClusterStack(config)
    results: dict[str, Any] = {
        "seconds": config.seconds,
        "seed": config.seed,
        "citizens": config.citizens,
        "hosts": {h.name: h.address for h in HOSTS},
        "load_balancer": config.base_url,
    }
    ok = False
    try:
        network.up()
        primary.init_primary()
        primary.start()
        primary.psql(f'CREATE DATABASE "{config.db_name}"')
        replica.init_replica(primary)
        replica.start()
        wait_until(lambda: primary.psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == "1",
                   60, "the replica to stream")  # fmt: skip
        primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        primary.psql("SELECT pg_reload_conf()")
        wait_until(lambda: primary.psql("SELECT sync_state FROM pg_stat_replication") == "sync", 30, "sync replication")
        infra.start_proxy()
        infra.start_redis()
        infra.start_haproxy()
        setup_django(config)
        people = seed(config)
        reconnect()
        stack.split_queues()
        stack.start_all()
        stack.wait_healthy(timeout=180)
        logger.info("cluster up: portal at %s (HAProxy), hosts %s", config.base_url, results["hosts"])
        if hold:
            logger.info("holding; Ctrl-C stops the cluster and removes its namespaces")
            while True:
                time.sleep(3600)
        # CLUSTER_FAULTS narrows the deck (e.g. "partition_worker"); CLUSTER_PROMOTE=0 skips the promotion.
        faults = tuple(f for f in os.environ.get("CLUSTER_FAULTS", ",".join(FAULTS)).split(",") if f in FAULTS)
        promote = os.environ.get("CLUSTER_PROMOTE", "1") != "0"
        chaos = ClusterChaos(stack, network, infra, primary, replica, rng, config.fault_min, config.fault_max,
                             promote_after=0.6 * config.seconds if promote else -1, faults=faults)  # fmt: skip

        def database_up() -> bool:
            return replica.psql("SELECT 1") == "1"

        ok = soak(config, stack, chaos, people, results, database_up)
        results["promoted"] = chaos.promoted
        ok = ok and (chaos.promoted or not promote)
    except KeyboardInterrupt:
        logger.info("stopping")
    except Exception as exc:
        logger.exception("the cluster soak could not run")
        results["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        results["ok"] = ok
        stack.stop()
        infra.stop_all()
        replica.stop(mode="fast", check=False)
        primary.stop(mode="fast", check=False)
        network.down()
        if not hold:
            (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str))
            logger.info("results: %s", OUT / "results.json")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
