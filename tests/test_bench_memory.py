"""The bench's memory sampler (bench/stack.py): it reads real processes' resident memory, looks
the stack's processes up again only now and then, and at once when one of them has ended."""

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

from bench.stack import MemorySampler


def _holding(megabytes: int) -> subprocess.Popen:
    """A real process that keeps `megabytes` of touched memory resident for a minute."""
    code = f"import time; b = bytearray({megabytes} * 2**20); b[::4096] = b'x' * (len(b) // 4096); time.sleep(60)"
    return subprocess.Popen([sys.executable, "-c", code])


class Stack:
    """Stands in for bench.stack.Stack: its web and worker processes are the test's own."""

    def __init__(self, web: subprocess.Popen, worker: subprocess.Popen) -> None:
        self.started = {"gunicorn": web, "worker": worker}
        self.lookups: Counter[str] = Counter()

    def pids(self, name: str) -> list[psutil.Process]:
        self.lookups[name] += 1
        process = self.started[name]
        return [psutil.Process(process.pid)] if process.poll() is None else []


def _settle() -> None:
    time.sleep(1.0)  # the children have allocated and touched their memory


@contextmanager
def _sampling(web_mb: int, worker_mb: int, *, refresh: float) -> Iterator[tuple[Stack, MemorySampler]]:
    """A sampler reading every 0.05 s over a stand-in stack of real processes; stopped, with
    the processes, at the end."""
    stack = Stack(_holding(web_mb), _holding(worker_mb))
    _settle()
    sampler = MemorySampler(stack, every=0.05, refresh=refresh)
    sampler.start()
    try:
        yield stack, sampler
    finally:
        sampler.stop()
        for process in stack.started.values():
            process.kill()
            process.wait()


def test_the_sampler_reads_memory_and_looks_processes_up_again_only_when_one_ends():
    with _sampling(60, 20, refresh=3600) as (stack, sampler):
        time.sleep(1.0)  # about twenty samples
        assert 55 <= sampler.peak["web"] < 95, sampler.peak
        assert sampler.peak["worker"] >= 15, sampler.peak
        assert stack.lookups == {"gunicorn": 1, "worker": 1}
        # A web worker is replaced by a larger one: found at once, and its memory counted.
        old = stack.started["gunicorn"]
        stack.started["gunicorn"] = _holding(100)
        old.kill()
        old.wait()
        _settle()
        assert sampler.peak["web"] >= 95, sampler.peak
        assert stack.lookups["gunicorn"] >= 2
        assert stack.lookups["worker"] == 1
    assert sampler.stop()["web"] >= 95  # what the bench reports, once stopped


def test_the_sampler_looks_the_processes_up_again_every_refresh():
    with _sampling(10, 10, refresh=0.25) as (stack, _):
        time.sleep(1.3)
    # About five refreshes in 1.3 s, far fewer than the twenty-odd samples.
    assert 3 <= stack.lookups["gunicorn"] <= 8, stack.lookups
