"""The bench's memory sampler (bench/stack.py): it reads real processes' resident memory, looks
the stack's processes up again only now and then, and at once when one of them has ended."""

import subprocess
import sys
import time
from collections import Counter

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


def _stop(sampler: MemorySampler, stack: Stack) -> dict[str, float]:
    memory = sampler.stop()
    for process in stack.started.values():
        process.kill()
        process.wait()
    return memory


def test_the_sampler_reads_memory_and_looks_processes_up_again_only_when_one_ends():
    stack = Stack(_holding(60), _holding(20))
    _settle()
    sampler = MemorySampler(stack, every=0.05, refresh=3600)
    sampler.start()
    try:
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
    finally:
        memory = _stop(sampler, stack)
    assert memory["web"] >= 95


def test_the_sampler_looks_the_processes_up_again_every_refresh():
    stack = Stack(_holding(10), _holding(10))
    _settle()
    sampler = MemorySampler(stack, every=0.05, refresh=0.25)
    sampler.start()
    try:
        time.sleep(1.3)
    finally:
        _stop(sampler, stack)
    # About five refreshes in 1.3 s, far fewer than the twenty-odd samples.
    assert 3 <= stack.lookups["gunicorn"] <= 8, stack.lookups
