"""Where the machine's CPU goes during a submit level's measured window: the web workers, the
Celery worker, the beat, PostgreSQL, Redis, the load generator and the kernel, as cores busy
and as milliseconds of CPU per accepted application.

Each process's user + system time is read at the window's start and end (psutil), and every
second between them: a process that ends inside the window (a database backend whose
connection reached its maximum age, a pool process replaced) is charged what it had used at
its last reading, and one that starts inside it what it used while it was seen. A process is
known by its pid and start time, so a pid the system gives again is another process. The
machine's own figures (`/proc/stat` through psutil) give the total and the kernel's share,
and whatever no reading saw is charged with.
"""

import threading
import time
from typing import Any

import psutil

# The first rule a process's command line matches names its part.
PARTS: tuple[tuple[str, str], ...] = (
    ("gunicorn", "web"),
    ("celery -A portal worker", "worker"),
    ("celery -A portal beat", "beat"),
    ("locust", "load generator"),
    ("postgres", "postgresql"),
    ("redis-server", "redis"),
)


def part_of(command: str) -> str:
    for needle, part in PARTS:
        if needle in command:
            return part
    return "other"


ProcessKey = tuple[int, float]  # pid and start time


def _processes(parts: dict[ProcessKey, str]) -> dict[ProcessKey, tuple[str, float]]:
    """Every process's part and CPU seconds so far. `parts` remembers each process's part, so a
    reading between the window's ends reads a command line only for a process new to it."""
    seen: dict[ProcessKey, tuple[str, float]] = {}
    for process in psutil.process_iter(["create_time", "cpu_times"]):
        info = process.info
        times, started = info.get("cpu_times"), info.get("create_time")
        if times is None or started is None:
            continue
        key = (process.pid, started)
        if key not in parts:
            try:
                command = " ".join(process.cmdline()) or process.name()
            except psutil.Error:
                continue
            parts[key] = part_of(command)
        seen[key] = (parts[key], times.user + times.system)
    return seen


def _machine() -> dict[str, float]:
    t = psutil.cpu_times()
    kernel = t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
    busy = t.user + getattr(t, "nice", 0.0) + kernel + getattr(t, "steal", 0.0)
    return {"busy": busy, "kernel": kernel}


def shares(
    before: dict[Any, tuple[str, float]],
    after: dict[Any, tuple[str, float]],
    machine_before: dict[str, float],
    machine_after: dict[str, float],
    *,
    seconds: float,
    applications: int,
) -> dict[str, Any]:
    """CPU seconds per part between two readings, as cores and as ms per application. `after`
    holds each process's last reading in the window, whether or not it was still running at its
    end."""
    used: dict[str, float] = {}
    for key, (part, cpu) in after.items():
        earlier = before.get(key)
        # The same process in the same part: the difference; a new process: all it used.
        start = earlier[1] if earlier is not None and earlier[0] == part else 0.0
        used[part] = used.get(part, 0.0) + max(cpu - start, 0.0)
    busy = machine_after["busy"] - machine_before["busy"]
    # What the machine was busy with beyond the processes seen: interrupts, the network stack's
    # soft interrupts, kernel threads, processes too short-lived for any reading, and what a
    # process that ended used after its last one.
    used["not charged to a process"] = max(busy - sum(used.values()), 0.0)
    cores = psutil.cpu_count() or 1
    per_application = (lambda s: round(s * 1000 / applications, 1)) if applications else (lambda s: None)
    return {
        "seconds": round(seconds, 1),
        "applications": applications,
        "machine_busy_percent": round(busy / (seconds * cores) * 100, 1) if seconds else None,
        "machine_ms_per_application": per_application(busy),
        # Of the busy time, how much the kernel spent (system calls, interrupts), whoever for.
        "kernel_percent_of_busy": round((machine_after["kernel"] - machine_before["kernel"]) / busy * 100, 1)
        if busy
        else None,
        "parts": {
            part: {"cores": round(cpu / seconds, 2) if seconds else None, "ms_per_application": per_application(cpu)}
            for part, cpu in sorted(used.items(), key=lambda kv: -kv[1])
            if cpu > 0
        },
    }


class WindowSampler(threading.Thread):
    """Reads every process at `start` and at `end` (wall-clock seconds), and every `every`
    seconds between them, in the background while the level runs; `result(applications)`
    afterwards."""

    def __init__(self, start: float, end: float, *, every: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.start_at, self.end_at, self.every = start, end, every
        self.readings: list[tuple[float, dict[ProcessKey, tuple[str, float]], dict[str, float]]] = []

    def run(self) -> None:
        parts: dict[ProcessKey, str] = {}
        time.sleep(max(self.start_at - time.time(), 0.0))
        self.readings.append((time.time(), _processes(parts), _machine()))
        last: dict[ProcessKey, tuple[str, float]] = {}
        while (left := self.end_at - time.time()) > 0:
            time.sleep(min(self.every, left))
            if time.time() < self.end_at:
                last.update(_processes(parts))
        machine = _machine()
        last.update(_processes(parts))
        self.readings.append((time.time(), last, machine))

    def result(self, finished_at: list[float]) -> dict[str, Any]:
        """`finished_at`: when each accepted application's last request ended (wall clock);
        those inside the window are the ones its CPU is divided by."""
        self.join(timeout=max(self.end_at - time.time(), 0.0) + 30)
        if len(self.readings) < 2:
            return {"error": "the window was not read at both ends"}
        (t0, before, machine_before), (t1, after, machine_after) = self.readings
        applications = sum(1 for moment in finished_at if t0 <= moment < t1)
        return shares(before, after, machine_before, machine_after, seconds=t1 - t0, applications=applications)
