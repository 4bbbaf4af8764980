"""Rate limits count across processes: with Redis configured, every web process (and worker)
shares the counter, so running more processes does not multiply a limit."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from accounts.limits import over_limit

ROOT = Path(__file__).resolve().parents[2]
SHARED = pytest.mark.skipif(not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"), reason="needs REDIS_URL")

COUNT_ONE = """
import django, sys
django.setup()
from accounts.limits import over_limit
print(over_limit(sys.argv[1], limit=3, window=60))
"""


def count_in_another_process(key: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", COUNT_ONE, key],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_the_limit_counts_within_the_window():
    key = f"limit-test:{uuid.uuid4().hex}"
    assert [over_limit(key, limit=2, window=60) for _ in range(4)] == [False, False, True, True]


@SHARED
def test_two_processes_share_one_counter():
    key = f"limit-test:{uuid.uuid4().hex}"
    assert over_limit(key, limit=3, window=60) is False  # 1, here
    assert count_in_another_process(key) == "False"  # 2, in another process
    assert over_limit(key, limit=3, window=60) is False  # 3, here
    assert count_in_another_process(key) == "True"  # 4: over, seen by the other process
    assert over_limit(key, limit=3, window=60) is True


@SHARED
def test_clearing_the_cache_leaves_the_brokers_keys_alone():
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    client.set("broker-owned-key", "queued", ex=60)
    cache.set("ours", 1, 60)
    cache.clear()
    assert cache.get("ours") is None
    assert client.get("broker-owned-key") == b"queued"
    client.delete("broker-owned-key")


def test_without_redis_each_process_keeps_its_own_memory():
    """The embedded profile (no REDIS_URL): the cache is the process's memory."""
    backend = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.CACHES['default']['BACKEND'])",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "REDIS_URL": "", "CACHE_URL": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert backend == "django.core.cache.backends.locmem.LocMemCache"
