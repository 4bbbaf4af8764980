"""When Redis (the cache and the broker) cannot be reached: signing in and submitting still work,
an e-mail whose rate limit cannot be counted is refused with a 503 "try again in a minute" and
never sent, and nothing answers 500.

Redis is "down" by pointing the cache and this process's task sending at a port nothing listens
on: the refusal is immediate and real (no mock of the client)."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts.tests.factories import PASSWORD, UserFactory
from tests.support.processes import producer_broker
from workflows.models import Application, OutboxMessage
from workflows.tests.test_apply_submission import _ready_draft
from workflows.tests.test_apply_support import build_catalogue

NOWHERE = "redis://127.0.0.1:1/0"


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {
        "default": {"BACKEND": "lib.cache.PrefixedRedisCache", "LOCATION": NOWHERE, "KEY_PREFIX": "onedoor-test"}
    }


@pytest.mark.django_db
def test_signing_in_needs_no_cache(client, cache_down):
    UserFactory(username="alice", email="alice@example.org")
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_a_password_reset_that_cannot_be_counted_is_refused_with_503_and_sends_nothing(client, cache_down, caplog):
    UserFactory(username="alice", email="alice@example.org")
    response = client.post(reverse("accounts:password-reset"), {"email": "alice@example.org"})
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    body = response.content.decode()
    assert "Sorry, the service is briefly unavailable" in body
    assert "Please try again in a minute." in body
    assert mail.outbox == []
    assert any(r.getMessage().startswith("cache_unavailable method=POST") for r in caplog.records)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.django_db(transaction=True)
def test_a_submission_commits_while_redis_is_down_and_waits_in_the_outbox(client, cache_down, use_broker, alice):
    group = _ready_draft(alice, build_catalogue())
    client.force_login(alice)
    review = client.get(reverse("workflows:apply-review", args=[group.pk])).content.decode()
    token = review.split('name="token" value="')[1].split('"')[0]
    with producer_broker(NOWHERE):
        response = client.post(reverse("workflows:apply-submit", args=[group.pk]), {"token": token})
    assert response.status_code == 302
    assert response.url == reverse("workflows:apply-receipt", args=[group.pk])
    assert Application.objects.filter(group=group).count() == 3
    unsent = OutboxMessage.objects.filter(confirmed_at=None)
    # Sent after commit and refused by the broker: kept for the relay, with the reason.
    assert unsent.count() >= 3 and all(message.last_error and message.sent_at is None for message in unsent)
    assert client.get(response.url).status_code == 200  # the receipt
