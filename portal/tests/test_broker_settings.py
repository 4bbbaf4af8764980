"""Which broker the settings choose: Redis unless BROKER_URL names RabbitMQ, and on RabbitMQ the
options that make it the production broker (quorum queues, publisher confirms). Read in a fresh
process, as a web or worker process reads them at start."""

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
READ_CONF = """
import json, django
django.setup()
from django.conf import settings
from portal.celery import app
conf = app.conf
queue = app.amqp.queues["dept.tax"]
print(json.dumps({
    "broker_url": conf.broker_url,
    "eager": conf.task_always_eager,
    "transport_options": conf.broker_transport_options,
    "acks_late": conf.task_acks_late,
    "reject_on_worker_lost": conf.task_reject_on_worker_lost,
    "prefetch": conf.worker_prefetch_multiplier,
    "default_queue": conf.task_default_queue,
    "dept_queue_arguments": queue.queue_arguments,
    "dept_exchange": [queue.exchange.name, queue.exchange.type, queue.routing_key],
    "cache": settings.CACHE_URL,
}))
"""


def conf_with(**environment: str) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in {"BROKER_URL", "CELERY_TASK_ALWAYS_EAGER"}}
    env.update(PORTAL_ENV="development", DJANGO_SETTINGS_MODULE="portal.settings", **environment)
    result = subprocess.run(
        [sys.executable, "-c", READ_CONF], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_redis_is_the_broker_by_default():
    conf = conf_with(REDIS_URL="redis://127.0.0.1:6379/6")
    assert conf["broker_url"] == "redis://127.0.0.1:6379/6"
    assert conf["eager"] is False
    assert conf["transport_options"] == {"visibility_timeout": 3600}
    assert conf["dept_queue_arguments"] is None  # Redis lists: no queue types
    assert conf["dept_exchange"] == ["dept.tax", "direct", "dept.tax"]


def test_broker_url_makes_rabbitmq_the_broker_with_quorum_queues_and_publisher_confirms():
    url = "amqp://onedoor:secret@rabbitmq.example:5672/onedoor"
    conf = conf_with(REDIS_URL="redis://127.0.0.1:6379/6", BROKER_URL=url)
    assert conf["broker_url"] == url
    assert conf["eager"] is False
    assert conf["transport_options"] == {"confirm_publish": True}
    assert conf["dept_queue_arguments"] == {"x-queue-type": "quorum"}
    # The same routing as on Redis: each department's queue under its own name.
    assert conf["dept_exchange"] == ["dept.tax", "topic", "dept.tax"]
    assert (conf["acks_late"], conf["reject_on_worker_lost"], conf["prefetch"]) == (True, True, 1)
    assert conf["default_queue"] == "default"
    assert conf["cache"] == "redis://127.0.0.1:6379/6"  # Redis stays the cache
