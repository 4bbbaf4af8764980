"""What the bench runs against and for how long; every knob is an environment variable."""

import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("BENCH_OUT", ROOT / "var" / "bench"))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _levels(name: str, default: str) -> list[int]:
    return [int(part) for part in os.environ.get(name, default).split(",") if part.strip()]


@dataclass
class Config:
    db_name: str = os.environ.get("BENCH_DB_NAME", "onedoor_bench")
    pg_host: str = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
    pg_port: int = _int("BENCH_PG_PORT", 5432)
    pg_user: str = os.environ.get("BENCH_PG_USER", "postgres")
    redis_url: str = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
    port: int = _int("BENCH_PORT", 8765)
    # The issue asks for >= 30 s per level after a warm-up; BENCH_SECONDS=5 gives a quick run.
    seconds: int = _int("BENCH_SECONDS", 30)
    warmup: int = _int("BENCH_WARMUP", 10)
    levels: list[int] = field(default_factory=lambda: _levels("BENCH_LEVELS", "1,8,32"))
    # gunicorn as docker-compose.yml runs it: "sync" workers, as many as the CPUs, all taking
    # requests from one accept queue in the order they came (docs/benchmarks.md, "sync workers").
    # BENCH_WEB_CLASS=gthread (BENCH_WEB_THREADS per worker) measures the threaded worker instead.
    web_workers: int = _int("BENCH_WEB_WORKERS", os.cpu_count() or 2)
    web_class: str = os.environ.get("BENCH_WEB_CLASS", "sync")
    web_threads: int = _int("BENCH_WEB_THREADS", 4)
    worker_concurrency: int = _int("BENCH_WORKER_CONCURRENCY", os.cpu_count() or 2)
    # Queue at scale: the sizes measured (applications) and the departments they spread over.
    queue_sizes: list[int] = field(default_factory=lambda: _levels("BENCH_QUEUE_SIZES", "10000,1000000"))
    departments: int = _int("BENCH_DEPARTMENTS", 100)
    queue_samples: int = _int("BENCH_QUEUE_SAMPLES", 60)
    # BENCH_QUEUE_REUSE=1: keep an existing bench database (already loaded, e.g. with 1M
    # applications) instead of dropping it; only `migrate` runs, the loader tops it up.
    queue_reuse: bool = os.environ.get("BENCH_QUEUE_REUSE", "") in ("1", "true", "yes")
    # The supervision dashboard at scale (bench/dashboard.py), on the same loaded applications.
    dashboard_sizes: list[int] = field(default_factory=lambda: _levels("BENCH_DASHBOARD_SIZES", "100000,1000000"))
    dashboard_samples: int = _int("BENCH_DASHBOARD_SAMPLES", 40)
    # The in-process engine scenario (bench/engine.py): applications measured after 2 warm-up ones.
    engine_applications: int = _int("BENCH_ENGINE_APPLICATIONS", 200)
    # How often the autovacuum stand-in checks the tables, where the server's autovacuum is off.
    autovacuum_seconds: float = float(os.environ.get("BENCH_AUTOVACUUM_SECONDS", "10"))
    ceiling_seconds: int = _int("BENCH_CEILING_SECONDS", 0)  # 0: the same as BENCH_SECONDS
    # Also replay the ceiling as the global hash chain ran it (bench/ceiling.py): "before".
    ceiling_before: bool = os.environ.get("BENCH_CEILING_BEFORE", "1") not in ("0", "false", "no")
    # Also replay the applicant's part alone (the six requests of bench/flow.py, routing left to
    # the worker): the script the baseline (47/s at c32 with the global chain) ran.
    ceiling_applicant: bool = os.environ.get("BENCH_CEILING_APPLICANT", "1") not in ("0", "false", "no")
    # Sample the transparency log's sequencer while the submit scenario runs (bench/sequencer.py).
    sequencer_sample_seconds: float = float(os.environ.get("BENCH_SEQUENCER_SAMPLE_SECONDS", "0.5"))
    sequencer_rows: int = _int("BENCH_SEQUENCER_ROWS", 100_000)
    scenarios: list[str] = field(
        default_factory=lambda: os.environ.get(
            "BENCH_SCENARIOS", "engine,submit,ceiling,queue,dashboard,sequencer"
        ).split(",")
    )
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    # Production encrypts the originals of scanned documents; a key of the run's own.
    originals_key: str = field(default_factory=lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())

    @property
    def database_url(self) -> str:
        return f"postgres://{self.pg_user}@{self.pg_host}:{self.pg_port}/{self.db_name}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app_env(self) -> dict[str, str]:
        """The production profile (DEBUG off, secrets from the environment), without the HTTPS
        redirect: the bench speaks plain HTTP to gunicorn on 127.0.0.1, as a TLS proxy would."""
        env = dict(os.environ)
        env.update(
            {
                "PORTAL_ENV": "production",
                "DEBUG": "false",
                "SECRET_KEY": self.secret_key,
                "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
                "SECURE_SSL_REDIRECT": "false",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "PRIVATE_STORAGE_ROOT": str(OUT / "private"),
                # The transparency log's signing key: production wants one provisioned; the
                # bench makes its own on first use.
                "TRANSPARENCY_SIGNING_KEY": str(OUT / "transparency-signing.key"),
                "TRANSPARENCY_GENERATE_KEY": "true",
                # Certificates are signed (PAdES, the issue step of the ceiling's captured work) by
                # a test PKI of the run's own: production's CA keys sit on a token we do not have.
                "SIGNING_LOCAL_PKI": "true",
                "SIGNING_LOCAL_PKI_DIR": str(OUT / "pki"),
                # No clamd on the bench machine: uploads are stored unscanned instead of refused
                # (production fails closed without a scanner). Set CLAMD_HOST to measure with one.
                "DOCUMENT_ORIGINALS_KEYS": self.originals_key,
                "DOCUMENT_SCAN_REQUIRED": os.environ.get("BENCH_SCAN_REQUIRED", "false"),
                "LOG_LEVEL": "WARNING",
                "DJANGO_SETTINGS_MODULE": "portal.settings",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.pop("PORTAL_TEST_DB_NAME", None)
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        return env
