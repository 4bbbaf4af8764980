"""/metrics: Prometheus text for the allowed addresses or the token holder, 404 for anybody else;
requests by view name, database queries, tasks by outcome, queue lengths and the engine's
figures, read in well under the scrape budget."""

from datetime import timedelta

import kombu
import pytest
import redis
from celery import current_app
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.tests.factories import UserFactory
from portal.metrics import tasks_key
from workflows.models import OutboxMessage
from workflows.tests.test_workbench_support import routed_application, version_with

pytestmark = pytest.mark.django_db

# What one scrape may cost in queries: fixed aggregates (outbox, incidents, overdue steps by
# department, the transparency log, the dashboard rollups' state row), whatever the number of
# applications.
SCRAPE_QUERY_BUDGET = 7

TOKEN = "s3cret-scrape-token"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def samples(body: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client, **headers: str) -> dict:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return samples(response.content.decode())


def test_it_answers_the_loopback_address_by_default(client):
    # The test client's REMOTE_ADDR is 127.0.0.1, in the default METRICS_ALLOWED_IPS.
    assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize("remote", ["192.0.2.10", "10.0.0.5", "::ffff:192.0.2.10", "not-an-address"])
def test_a_scrape_from_outside_the_allowed_list_gets_404(client, settings, remote):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1", "10.1.0.0/16"]
    response = client.get("/metrics", REMOTE_ADDR=remote)
    assert response.status_code == 404
    assert b"onedoor_" not in response.content


def test_a_network_in_the_list_admits_its_addresses(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.1.0.0/16", "2001:db8::/32"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.200.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="2001:db8::7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 404


def test_a_host_name_in_the_list_admits_nobody_and_never_breaks_the_scrape(client, settings, caplog):
    settings.METRICS_ALLOWED_IPS = ["localhost", "127.0.0.1"]
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.10").status_code == 404
    assert "ignoring 'localhost'" in caplog.text


def test_the_token_admits_any_address_and_a_wrong_token_or_none_gets_404(client, settings, token):
    settings.METRICS_ALLOWED_IPS = []
    outside = {"REMOTE_ADDR": "192.0.2.10"}
    assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}, **outside).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}, **outside).status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Basic {token}"}, **outside).status_code == 404
    assert client.get("/metrics", **outside).status_code == 404


def test_a_wrong_token_is_refused_even_from_an_allowed_address(client, token):
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404


def test_no_token_configured_means_the_bearer_header_admits_nobody(client, settings):
    settings.METRICS_ALLOWED_IPS = []
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}, REMOTE_ADDR="192.0.2.1").status_code == 404


def test_only_get(client):
    assert client.post("/metrics").status_code == 405


def test_requests_are_counted_by_view_name_and_status_never_by_path(client):
    before = scrape(client)
    client.get("/")
    client.get("/services/no-such-service/")
    client.get("/no/such/path/at/all")
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("onedoor_http_requests_total", view="portal:home", method="GET", status="200") == 1
    assert grew("onedoor_http_requests_total", view="unresolved", method="GET", status="404") == 1
    assert grew("onedoor_http_request_duration_seconds_count", view="portal:home") == 1
    assert grew("onedoor_http_request_db_queries_count", view="portal:home") == 1
    assert not any("no-such" in str(labels) or "/no/such" in str(labels) for _, labels in after)


def test_database_queries_per_request_are_observed(client):
    UserFactory(username="alice")
    before = scrape(client)
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    after = scrape(client)
    view = "accounts:login"
    queries = value(after, "onedoor_http_request_db_queries_sum", view=view) - value(
        before, "onedoor_http_request_db_queries_sum", view=view
    )
    assert queries >= 1


def test_tasks_are_counted_by_name_queue_and_outcome(client):
    relay = current_app.tasks["workflows.outbox_relay"]
    before = scrape(client)
    relay.apply()
    relay.apply(kwargs={"no_such_argument": 1}, throw=False)
    after = scrape(client)

    def grew(outcome: str) -> float:
        labels = {"task": "workflows.outbox_relay", "queue": "eager", "outcome": outcome}
        return value(after, "onedoor_celery_tasks_total", **labels) - value(
            before, "onedoor_celery_tasks_total", **labels
        )

    assert grew("success") == 1
    assert grew("failure") == 1


def test_queue_lengths_are_read_from_the_broker(client):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("default")
    broker.rpush("default", "a", "b")
    try:
        found = scrape(client)
    finally:
        broker.delete("default")
    assert value(found, "onedoor_broker_up") == 1
    assert value(found, "onedoor_celery_queue_length", queue="default") == 2
    assert ("onedoor_celery_queue_length", (("queue", "transparency"),)) in found


@pytest.mark.rabbitmq
def test_queue_lengths_are_read_from_rabbitmq(client, settings, rabbitmq_vhost):
    settings.CELERY_BROKER_URL = rabbitmq_vhost.url
    settings.BROKER_IS_RABBITMQ = True
    queue = kombu.Queue(
        "default", kombu.Exchange("default", "topic"), "default", queue_arguments={"x-queue-type": "quorum"}
    )
    with kombu.Connection(rabbitmq_vhost.url, transport_options={"confirm_publish": True}) as conn:
        bound = queue(conn.default_channel)
        bound.declare()
        bound.purge()
        producer = conn.Producer()
        for n in range(3):
            producer.publish({"n": n}, exchange=queue.exchange, routing_key="default")
        try:
            found = scrape(client)
        finally:
            bound.purge()
    assert value(found, "onedoor_broker_up") == 1
    assert value(found, "onedoor_celery_queue_length", queue="default") == 3
    # Never sent to, so never declared: counted as empty, and the scrape did not create it.
    assert ("onedoor_celery_queue_length", (("queue", "transparency"),)) in found
    assert "transparency" not in rabbitmq_vhost.queues()


def test_a_scrape_with_rabbitmq_down_still_answers_and_says_so(client, settings):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1/"
    settings.BROKER_IS_RABBITMQ = True
    found = scrape(client)
    assert value(found, "onedoor_broker_up") == 0
    assert value(found, "onedoor_database_up") == 1


def test_the_engine_figures_are_read_at_scrape_time(client):
    found = scrape(client)
    assert value(found, "onedoor_database_up") == 1
    assert value(found, "onedoor_outbox_unconfirmed") == 0
    assert value(found, "onedoor_outbox_oldest_unconfirmed_age_seconds") == 0
    OutboxMessage.objects.create(task="workflows.outbox_relay", kwargs={}, attempts=4)
    OutboxMessage.objects.create(task="workflows.outbox_relay", kwargs={}, attempts=1)
    OutboxMessage.objects.create(task="workflows.outbox_relay", kwargs={}, attempts=9, confirmed_at=timezone.now())
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    found = scrape(client)
    assert value(found, "onedoor_outbox_unconfirmed") == 2
    assert value(found, "onedoor_outbox_oldest_unconfirmed_age_seconds") >= 299
    assert value(found, "onedoor_outbox_unconfirmed_resends") == 3
    for name in (
        "onedoor_open_incidents",
        "onedoor_outbox_over_warn_resends",
        "onedoor_transparency_lag_seconds",
        "onedoor_transparency_tree_size",
        "onedoor_dashboard_rollup_drift_cells",
        "onedoor_dashboard_rollup_lag_seconds",
    ):
        assert (name, ()) in found, name


def test_a_scrape_with_redis_down_still_answers_and_says_so(client, settings):
    from portal import metrics

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CACHE_URL = "redis://127.0.0.1:1/0"
    metrics.broker_client.cache_clear()
    metrics.redis_client.cache_clear()
    try:
        found = scrape(client)
    finally:
        metrics.broker_client.cache_clear()
        metrics.redis_client.cache_clear()
    assert value(found, "onedoor_broker_up") == 0
    assert value(found, "onedoor_database_up") == 1


def test_a_scrape_costs_the_same_few_queries_whatever_the_data(client):
    """Speed is measured by `make bench`, not here: a scrape's cost is held by its query count,
    which does not grow with the number of applications (aggregates only)."""
    scrape(client)  # warm: the first scrape connects to the broker
    with CaptureQueriesContext(connection) as before:
        scrape(client)
    applicant = UserFactory()
    version = version_with()
    for _ in range(3):
        routed_application(applicant=applicant, version=version)
        OutboxMessage.objects.create(task="workflows.outbox_relay", kwargs={}, attempts=2)
    with CaptureQueriesContext(connection) as after:
        scrape(client)
    assert len(after) == len(before) <= SCRAPE_QUERY_BUDGET


def test_the_task_counts_live_in_one_redis_hash_for_the_whole_cluster():
    assert tasks_key().endswith(":metrics:celery-tasks")
