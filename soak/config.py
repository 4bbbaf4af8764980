"""What the soak runs and for how long; every knob is an environment variable."""

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "soak"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass
class Config:
    seconds: int = _int("SOAK_SECONDS", 600)
    citizens: int = _int("SOAK_CITIZENS", 6)
    # A citizen's pause between two applications (0: back to back, the heaviest load).
    think_seconds: float = _float("SOAK_THINK_SECONDS", 0)
    # Faults are injected every SOAK_FAULT_MIN..SOAK_FAULT_MAX seconds (uniformly at random).
    fault_min: float = _float("SOAK_FAULT_MIN", 8)
    fault_max: float = _float("SOAK_FAULT_MAX", 20)
    # How long the work may take to drain once the load stops (default: as long as the load ran).
    drain_seconds: int = _int("SOAK_DRAIN_SECONDS", max(300, _int("SOAK_SECONDS", 600)))
    seed: int = _int("SOAK_SEED", 0)  # 0: a new random seed each run (written to results.json)
    pg_bin: Path = Path(os.environ.get("SOAK_PG_BIN", "/usr/lib/postgresql/15/bin"))
    pg_user: str = os.environ.get("SOAK_PG_OS_USER", "postgres")  # PostgreSQL refuses to run as root
    web_port: int = _int("SOAK_WEB_PORT", 0)  # 0: a free port
    pg_port: int = _int("SOAK_PG_PORT", 0)
    redis_port: int = _int("SOAK_REDIS_PORT", 0)
    db_name: str = "onedoor_soak"
    worker_concurrency: int = _int("SOAK_WORKER_CONCURRENCY", 2)
    web_workers: int = _int("SOAK_WEB_WORKERS", 2)
    # Engine knobs shortened so a soak drains in minutes (production keeps the defaults).
    # Shorter than production's 60 s, not so short that a busy worker's backlog is sent again and again.
    outbox_resend_seconds: int = _int("SOAK_OUTBOX_RESEND_SECONDS", 30)
    visibility_timeout: int = _int("SOAK_VISIBILITY_TIMEOUT", 120)  # task time limit = a quarter (30 s)
    stale_step_seconds: int = _int("SOAK_STALE_STEP_SECONDS", 45)
    retry_backoff_seconds: float = _float("SOAK_RETRY_BACKOFF_SECONDS", 1.0)
    out: Path = OUT  # logs, uploads and the beat's schedule (the restore drill has its own)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/{self.db_name}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def app_env(self) -> dict[str, str]:
        """The environment of every process of the stack (and of the orchestrator's checks)."""
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "BROKER_URL": "",  # the throwaway Redis is the broker, whatever the caller's environment says
            "PORTAL_ENV": "development",
            "DEBUG": "0",
            "DB_CONN_MAX_AGE": "60",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PRIVATE_STORAGE_ROOT": str(self.out / "private"),
            # The throwaway stack's own transparency-log key: never the development server's, whose
            # name is bound to the address `make run` serves on.
            "TRANSPARENCY_SIGNING_KEY": str(self.out / "transparency" / "log-signing.key"),
            "ENGINE_OUTBOX_RESEND_SECONDS": str(self.outbox_resend_seconds),
            # A soak drains in minutes: the relay's per-message backoff stops at four intervals.
            "ENGINE_OUTBOX_MAX_BACKOFF_SECONDS": str(4 * self.outbox_resend_seconds),
            "CELERY_VISIBILITY_TIMEOUT": str(self.visibility_timeout),
            "ENGINE_STALE_STEP_SECONDS": str(self.stale_step_seconds),
            "ENGINE_RETRY_BACKOFF_SECONDS": str(self.retry_backoff_seconds),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
