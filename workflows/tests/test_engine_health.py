"""/healthz shows the engine's backlog; the embedded mode's periodic loop runs its sweeps."""

import logging

import pytest
from django.conf import settings
from django.core.management import call_command

from workflows.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_healthz_shows_the_oldest_unsent_outbox_row_and_open_incidents(client):
    body = client.get("/healthz").json()
    assert body["outbox_oldest_unsent_seconds"] is None
    assert body["open_incidents"] == 0
    OutboxMessage.objects.create(task="workflows.outbox_relay", kwargs={})
    assert client.get("/healthz").json()["outbox_oldest_unsent_seconds"] >= 0


def test_run_periodic_runs_every_task_of_the_beat_schedule_once(caplog):
    """The embedded mode sweeps exactly what the beat sweeps: each scheduled task runs, none fails."""
    with caplog.at_level(logging.DEBUG, logger="workflows.engine"):
        call_command("run_periodic", "--once")
    ran = [r.getMessage().removeprefix("periodic sweep ran: ") for r in caplog.records if "sweep ran" in r.getMessage()]
    assert sorted(ran) == sorted(settings.CELERY_BEAT_SCHEDULE)
    assert not [r for r in caplog.records if "periodic sweep failed" in r.getMessage()]
