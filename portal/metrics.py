"""Prometheus metrics at /metrics (docs/operations.md lists each one and the alerts to set).

Who may scrape: an address in METRICS_ALLOWED_IPS (addresses or networks; the process's own
loopback by default) or a caller with `Authorization: Bearer <METRICS_TOKEN>`. Everybody else
gets the ordinary 404 page: the endpoint does not admit that it exists. Only REMOTE_ADDR
counts, never X-Forwarded-For: scrape each web process directly, or use the token.

Three kinds of figures:

- per web process, from RequestMetricsMiddleware: requests by view name (the URL pattern's
  name, never the path, so the number of series stays bounded), method and status, their
  latency, and the database queries each one made. With several processes on one host, set
  PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode) to add them up; otherwise
  each process reports its own and Prometheus scrapes each.
- Celery tasks by name, queue and outcome, counted by every worker in one Redis hash when the
  portal runs on Redis (so any web process reports the whole cluster's), in process memory in
  the embedded mode (where tasks run in the web process).
- read at scrape time with a few cheap queries: the queue lengths on the broker, the outbox,
  open incidents, overdue steps and the transparency log (workflows/metrics.py).
"""

import contextlib
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any

import kombu
import redis
from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from workflows.metrics import department_queues, engine_figures

logger = logging.getLogger(__name__)

PREFIX = "onedoor"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Kombu's Redis transport keeps a queue's messages of priority p > 0 in "<queue>\x06\x16<p>".
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
TASKS_HASH = "metrics:celery-tasks"
BROKER_TIMEOUT_SECONDS = 0.25

# --- Per process: requests ------------------------------------------------------------------

PROCESS_REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    f"{PREFIX}_http_requests",
    "HTTP requests answered, by view name, method and status.",
    ["view", "method", "status"],
    registry=PROCESS_REGISTRY,
)
LATENCY = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time from the request entering the portal to its response, by view name.",
    ["view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=PROCESS_REGISTRY,
)
QUERIES = Histogram(
    f"{PREFIX}_http_request_db_queries",
    "Database queries one request made, by view name.",
    ["view"],
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200),
    registry=PROCESS_REGISTRY,
)
# Tasks counted in this process when there is no Redis (the embedded mode, where tasks run in
# the web process); with Redis the cluster's counts come from ClusterCollector instead.
LOCAL_TASK_REGISTRY = CollectorRegistry(auto_describe=True)
LOCAL_TASKS = Counter(
    f"{PREFIX}_celery_tasks",
    "Celery tasks finished, by task name, queue and outcome.",
    ["task", "queue", "outcome"],
    registry=LOCAL_TASK_REGISTRY,
)


def view_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name:
        return match.view_name
    if request.path.startswith(settings.STATIC_URL):
        return "static"
    return "unresolved"  # a 404 for an unknown path, or a response made before resolving


class RequestMetricsMiddleware:
    """Times every request and counts its database queries (on the default connection)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        queries = 0

        def count(execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            response = self.get_response(request)
        view = view_name(request)
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        LATENCY.labels(view).observe(time.perf_counter() - started)
        QUERIES.labels(view).observe(queries)
        return response


# --- Celery tasks, across the cluster -------------------------------------------------------


@cache
def redis_client() -> redis.Redis | None:
    url = settings.CACHE_URL or settings.REDIS_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    return redis.Redis.from_url(
        url, socket_timeout=BROKER_TIMEOUT_SECONDS, socket_connect_timeout=BROKER_TIMEOUT_SECONDS
    )


@cache
def broker_client() -> redis.Redis | None:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    return redis.Redis.from_url(
        url, socket_timeout=BROKER_TIMEOUT_SECONDS, socket_connect_timeout=BROKER_TIMEOUT_SECONDS
    )


def tasks_key() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'onedoor')}:{TASKS_HASH}"


def count_task(task: Any = None, state: str | None = None, **_: object) -> None:
    """task_postrun: one more finished task of this name, queue and outcome. Never fails the
    task: a metrics store that cannot be reached loses the count, with a warning."""
    if task is None:
        return
    request = getattr(task, "request", None)
    delivery = getattr(request, "delivery_info", None) or {}
    queue = "eager" if getattr(request, "is_eager", False) else str(delivery.get("routing_key") or "unknown")
    outcome = (state or "unknown").lower()
    client = redis_client()
    if client is None:
        LOCAL_TASKS.labels(task.name, queue, outcome).inc()
        return
    try:
        client.hincrby(tasks_key(), f"{task.name}|{queue}|{outcome}", 1)
    except redis.RedisError as exc:
        logger.warning("task metrics not recorded task=%s error=%s", task.name, type(exc).__name__)


# --- Read at scrape time --------------------------------------------------------------------


def queues_to_watch() -> list[str]:
    try:
        return department_queues()
    except Exception:  # noqa: BLE001 - the database is down: the default queues still count
        return ["default", "transparency"]


def rabbitmq_queue_lengths(queues: list[str]) -> dict[str, int]:
    """Messages ready in each queue, asked with a passive declare (which never creates one). A
    queue nothing was sent to yet does not exist and has none."""
    lengths = {}
    with kombu.Connection(settings.CELERY_BROKER_URL, connect_timeout=4 * BROKER_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1)
        for queue in queues:
            channel = conn.channel()
            try:
                lengths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except conn.channel_errors:  # 404 NOT_FOUND, which also closes the channel
                lengths[queue] = 0
            finally:
                with contextlib.suppress(Exception):
                    channel.close()
    return lengths


class ClusterCollector(Collector):
    """The broker's queues, the cluster's task counts and the engine's figures, read when
    Prometheus scrapes. Each part that cannot be read says so in its own `*_up` gauge."""

    def collect(self) -> Iterator[Any]:
        started = time.perf_counter()
        yield from self._broker()
        yield from self._engine()
        duration = GaugeMetricFamily(
            f"{PREFIX}_metrics_collect_seconds", "Time this scrape spent reading the broker and the database."
        )
        duration.add_metric([], time.perf_counter() - started)
        yield duration

    def _broker(self) -> Iterable[Any]:
        up = GaugeMetricFamily(f"{PREFIX}_broker_up", "1 when the broker (Redis or RabbitMQ) answered this scrape.")
        lengths = GaugeMetricFamily(
            f"{PREFIX}_celery_queue_length", "Messages waiting in each Celery queue on the broker.", labels=["queue"]
        )
        tasks = CounterMetricFamily(
            f"{PREFIX}_celery_tasks",
            "Celery tasks finished, by task name, queue and outcome.",
            labels=["task", "queue", "outcome"],
        )
        broker, store = broker_client(), redis_client()
        if settings.BROKER_IS_RABBITMQ:
            try:
                for queue, length in rabbitmq_queue_lengths(queues_to_watch()).items():
                    lengths.add_metric([queue], length)
                up.add_metric([], 1)
            except Exception as exc:  # noqa: BLE001 - a scrape reports the broker's state, never fails
                logger.warning("metrics: RabbitMQ unavailable error=%s", type(exc).__name__)
                up.add_metric([], 0)
            yield up
            yield lengths
        elif broker is None:
            # The embedded mode: tasks run in this process, nothing waits anywhere.
            yield from ()
        else:
            queues = queues_to_watch()
            try:
                with broker.pipeline(transaction=False) as pipe:
                    for queue in queues:
                        for suffix in PRIORITY_SUFFIXES:
                            pipe.llen(queue + suffix)
                    counts = pipe.execute()
                step = len(PRIORITY_SUFFIXES)
                for index, queue in enumerate(queues):
                    lengths.add_metric([queue], sum(counts[index * step : (index + 1) * step]))
                up.add_metric([], 1)
            except redis.RedisError:
                up.add_metric([], 0)
            yield up
            yield lengths
        if store is not None:
            try:
                for field, value in (store.hgetall(tasks_key()) or {}).items():
                    name, queue, outcome = (field.decode() if isinstance(field, bytes) else field).split("|", 2)
                    tasks.add_metric([name, queue, outcome], int(value))
            except (redis.RedisError, ValueError):
                pass
            yield tasks

    def _engine(self) -> Iterable[Any]:
        up = GaugeMetricFamily(f"{PREFIX}_database_up", "1 when the engine's figures could be read this scrape.")
        try:
            figures = engine_figures()
        except Exception as exc:  # noqa: BLE001 - a scrape reports the database's state, never fails
            logger.warning("metrics: engine figures unavailable error=%s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for name, documentation, value in (
            ("outbox_unconfirmed", "Outbox rows whose task has not confirmed it ran.", figures.outbox_unconfirmed),
            (
                "outbox_oldest_unconfirmed_age_seconds",
                "Age of the oldest outbox row whose task has not confirmed it ran (0 when none).",
                figures.outbox_oldest_unconfirmed_seconds,
            ),
            (
                "outbox_over_warn_resends",
                "Unconfirmed outbox rows re-sent more than ENGINE_OUTBOX_WARN_RESENDS times.",
                figures.outbox_over_warn_resends,
            ),
            (
                "outbox_unconfirmed_resends",
                "Re-sends so far of the outbox rows still unconfirmed (the first send not counted).",
                figures.outbox_unconfirmed_resends,
            ),
            ("open_incidents", "Automatic steps out of retries, waiting for a supervisor.", figures.open_incidents),
            (
                "transparency_lag_seconds",
                "Age of the oldest audit row not yet in the transparency log.",
                figures.transparency_lag_seconds,
            ),
            ("transparency_tree_size", "Leaves in the transparency log.", figures.transparency_tree_size),
            (
                "dashboard_rollup_drift_cells",
                "Dashboard rollup cells that differed from the raw data at the last daily check.",
                figures.dashboard_rollup_drift_cells,
            ),
            (
                "dashboard_rollup_lag_seconds",
                "Seconds since the dashboard rollups were last refreshed (0 before the first refresh).",
                figures.dashboard_rollup_lag_seconds,
            ),
        ):
            gauge = GaugeMetricFamily(f"{PREFIX}_{name}", documentation)
            gauge.add_metric([], value)
            yield gauge
        overdue = GaugeMetricFamily(
            f"{PREFIX}_overdue_steps",
            "Open or claimed steps past their statutory due time (clock running), by department.",
            labels=["department"],
        )
        for department, count in sorted(figures.overdue_steps.items()):
            overdue.add_metric([department], count)
        yield overdue


CLUSTER_REGISTRY = CollectorRegistry()
CLUSTER_REGISTRY.register(ClusterCollector())


def process_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return PROCESS_REGISTRY


# --- Who may scrape ---------------------------------------------------------------------------


@cache
def allowed_networks(addresses: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The allowed list as networks; an entry that is not an address or network (a host name, a
    typo) admits nobody and is logged once, instead of failing every scrape."""
    networks = []
    for address in addresses:
        try:
            networks.append(ipaddress.ip_network(address.strip(), strict=False))
        except ValueError:
            logger.warning("METRICS_ALLOWED_IPS: ignoring %r, not an address or network", address[:64])
    return tuple(networks)


def may_scrape(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    authorization = request.headers.get("Authorization", "")
    if token and authorization.startswith("Bearer "):
        return hmac.compare_digest(authorization.removeprefix("Bearer ").encode(), token.encode())
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in allowed_networks(tuple(settings.METRICS_ALLOWED_IPS)))


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not may_scrape(request):
        raise Http404
    body = generate_latest(process_registry()) + generate_latest(CLUSTER_REGISTRY)
    if redis_client() is None:
        body += generate_latest(LOCAL_TASK_REGISTRY)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
