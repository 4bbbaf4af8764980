"""/healthz shows the engine's backlog; the embedded mode's periodic loop runs its sweeps."""

import pytest
from django.core.management import call_command

from workflows.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_healthz_shows_the_oldest_unsent_outbox_row_and_open_incidents(client):
    body = client.get("/healthz").json()
    assert body["outbox_oldest_unsent_seconds"] is None
    assert body["open_incidents"] == 0
    OutboxMessage.objects.create(task="workflows.outbox_relay", kwargs={})
    assert client.get("/healthz").json()["outbox_oldest_unsent_seconds"] >= 0


def test_run_periodic_runs_each_sweep_once():
    call_command("run_periodic", "--once")
