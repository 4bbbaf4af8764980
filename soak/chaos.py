"""The faults, injected at random while the load runs: kill -9 a Celery pool child, kill -9 the
whole worker (main process and children, then start it again), restart the throwaway Redis
(killed, so queued and unacknowledged messages are lost), restart the throwaway PostgreSQL with
`pg_ctl -m immediate` (every backend killed, crash recovery on start)."""

import logging
import os
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from soak.stack import Postgres, Redis, Stack

logger = logging.getLogger("soak")

FAULTS = ("kill_worker_child", "kill_worker", "restart_redis", "restart_postgres")


@dataclass
class Chaos:
    stack: Stack
    postgres: Postgres
    redis: Redis
    rng: random.Random
    fault_min: float
    fault_max: float
    log: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.monotonic)

    def inject(self, fault: str) -> None:
        at = round(time.monotonic() - self.started_at, 1)
        detail = ""
        if fault == "kill_worker_child":
            children = self.stack.worker_children()
            if not children:
                fault, detail = "kill_worker", "no pool child alive"
            else:
                pid = self.rng.choice(children)
                os.kill(pid, signal.SIGKILL)
                detail = f"pid {pid}"
        if fault == "kill_worker":
            self.stack.kill("worker")
            time.sleep(self.rng.uniform(0.5, 3))
            self.stack.start("worker")
        elif fault == "restart_redis":
            self.redis.restart(down_seconds=self.rng.uniform(1, 4))
        elif fault == "restart_postgres":
            self.postgres.restart_immediate(down_seconds=self.rng.uniform(1, 4))
        self.log.append({"at_s": at, "fault": fault, "detail": detail})
        logger.warning("fault injected at %.1f s: %s %s", at, fault, detail)

    def run(self, stop: threading.Event) -> None:
        deck: list[str] = []
        while not stop.wait(self.rng.uniform(self.fault_min, self.fault_max)):
            if not deck:  # every kind once per round, in a random order: a short soak sees them all
                deck = list(FAULTS)
                self.rng.shuffle(deck)
            fault = deck.pop()
            try:
                self.inject(fault)
            except Exception as exc:  # a fault that could not be injected is reported, and fails the soak
                self.failures.append(f"{fault}: {exc}")
                logger.exception("could not inject %s", fault)
            self.stack.restart_dead()  # gunicorn or beat must never stay down because of us

    def counts(self) -> dict[str, int]:
        return dict(Counter(entry["fault"] for entry in self.log))
