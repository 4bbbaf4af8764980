"""docker-compose.yml cannot be started here (no Docker engine), so we read it carefully."""

import importlib
import os
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_it_runs_the_whole_stack_with_health_checks():
    services = COMPOSE["services"]
    assert set(services) >= {"web", "worker", "beat", "postgres", "redis"}
    for name in ("web", "postgres", "redis", "worker"):
        assert "healthcheck" in services[name], f"{name} has no health check"


def test_redis_keeps_its_queue_and_never_evicts():
    command = " ".join(COMPOSE["services"]["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command


def test_every_command_names_a_real_module():
    web = " ".join(COMPOSE["services"]["web"]["command"])
    wsgi = re.search(r"gunicorn\s+(\S+):application", web).group(1)
    assert hasattr(importlib.import_module(wsgi), "application")
    for name in ("worker", "beat"):
        command = " ".join(COMPOSE["services"][name]["command"])
        app = re.search(r"celery -A (\S+)", command).group(1)
        assert hasattr(importlib.import_module(app), "celery_app")
        assert name in command
    assert "worker_queues" in " ".join(COMPOSE["services"]["worker"]["command"])


def test_the_app_services_share_one_configuration_and_wait_for_their_dependencies():
    for name in ("web", "worker", "beat"):
        service = COMPOSE["services"][name]
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")
        assert env["PORTAL_ENV"] == "production"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    dockerfile = ROOT / COMPOSE["services"]["web"]["build"]["dockerfile"]
    assert dockerfile.exists()


def test_the_web_service_loads_the_holiday_calendar_after_migrating():
    # Statutory deadlines are refused without a complete working-day calendar (docs/deadlines.md).
    web = " ".join(COMPOSE["services"]["web"]["command"])
    assert web.index("migrate") < web.index("load_holidays") < web.index("gunicorn")
    from django.core.management import get_commands

    assert get_commands()["load_holidays"] == "workflows"


def test_uploads_are_scanned_by_the_clamav_service():
    assert "clamav" in COMPOSE["services"]
    for name in ("web", "worker"):
        env = COMPOSE["services"][name]["environment"]
        assert env["CLAMD_HOST"] == "clamav"
        assert "clamav" in COMPOSE["services"][name]["depends_on"]


def test_rabbitmq_is_an_optional_broker_behind_a_profile():
    rabbitmq = COMPOSE["services"]["rabbitmq"]
    assert rabbitmq["profiles"] == ["rabbitmq"]  # `docker compose up` alone keeps Redis as the broker
    assert "healthcheck" in rabbitmq
    assert "/var/lib/rabbitmq" in rabbitmq["volumes"][0]  # messages survive a restart
    for name in ("web", "worker", "beat"):
        service = COMPOSE["services"][name]
        assert service["environment"]["BROKER_URL"] == "${BROKER_URL:-}"
        dependency = service["depends_on"]["rabbitmq"]
        assert dependency == {"condition": "service_healthy", "required": False}


def test_the_bench_measures_the_web_server_as_compose_runs_it():
    """Sync workers (gunicorn's default class), as many as the reference host's two CPUs: the
    bench's default, so its figures are production's (docs/benchmarks.md, "sync workers")."""
    from bench.config import Config

    web = " ".join(COMPOSE["services"]["web"]["command"])
    worker_class = re.search(r"--worker-class[ =](\S+)", web)
    assert (worker_class.group(1) if worker_class else "sync") == "sync"
    assert re.search(r"--workers[ =](\d+)", web).group(1) == "2"
    config = Config()
    assert config.web_class == "sync"
    assert config.web_workers == (os.cpu_count() or 2)
