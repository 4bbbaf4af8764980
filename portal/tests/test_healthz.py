import pytest

from tests.support.processes import producer_broker

pytestmark = pytest.mark.django_db


def test_it_reports_eager_mode_when_tasks_run_in_process(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["broker"] == "eager"


@pytest.mark.worker
def test_it_counts_live_workers_on_the_real_broker(client, celery_worker):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == "ok"
    assert response.json()["workers"] >= 1


def test_it_answers_503_when_the_broker_is_down(client, throwaway_redis, use_broker):
    with producer_broker(throwaway_redis.url):
        assert client.get("/healthz").json()["broker"] == "ok"
        throwaway_redis.stop()
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["broker"].startswith("error")
