"""The submit level's CPU shares (bench/cpu.py): each process's CPU over the window is charged to
its part of the stack and divided by the applications accepted in the window."""

from bench.cpu import WindowSampler, part_of, shares
from bench.report import table


def test_each_process_is_charged_to_its_part_by_its_command_line():
    assert part_of("/app/.venv/bin/python /app/.venv/bin/gunicorn portal.wsgi:application") == "web"
    assert part_of("/app/.venv/bin/python /app/.venv/bin/celery -A portal worker -l warning") == "worker"
    assert part_of("/app/.venv/bin/python /app/.venv/bin/celery -A portal beat -l warning") == "beat"
    assert part_of("postgres: 15/main: postgres onedoor_bench 127.0.0.1(5432) idle") == "postgresql"
    assert part_of("/usr/bin/python3 /app/.venv/bin/locust -f bench/locustfile.py") == "load generator"
    assert part_of("sshd: root") == "other"


def test_shares_count_differences_new_processes_whole_and_divide_by_applications():
    before = {1: ("web", 10.0), 2: ("worker", 5.0), 3: ("postgresql", 1.0), 9: ("web", 3.0)}
    # pid 9 ended; pid 4 is a new PostgreSQL backend; pid 3 was reused by another part.
    after = {1: ("web", 13.0), 2: ("worker", 6.0), 3: ("redis", 0.5), 4: ("postgresql", 0.4)}
    figures = shares(
        before,
        after,
        {"busy": 100.0, "kernel": 20.0},
        {"busy": 106.0, "kernel": 21.0},
        seconds=5.0,
        applications=100,
    )
    parts = figures["parts"]
    assert parts["web"] == {"cores": 0.6, "ms_per_application": 30.0}
    assert parts["worker"] == {"cores": 0.2, "ms_per_application": 10.0}
    assert parts["redis"]["ms_per_application"] == 5.0
    assert parts["postgresql"]["ms_per_application"] == 4.0
    # busy 6.0 s, processes 3.0 + 1.0 + 0.5 + 0.4: the rest is charged to no process
    assert parts["not charged to a process"]["ms_per_application"] == 11.0
    assert next(iter(parts)) == "web"  # largest first
    assert figures["machine_ms_per_application"] == 60.0
    assert figures["applications"] == 100
    assert figures["kernel_percent_of_busy"] == round(1 / 6 * 100, 1)


def test_no_application_in_the_window_gives_no_per_application_figure():
    figures = shares({}, {1: ("web", 2.0)}, {"busy": 0.0, "kernel": 0.0},
                     {"busy": 2.0, "kernel": 0.0}, seconds=2.0, applications=0)  # fmt: skip
    assert figures["parts"]["web"] == {"cores": 1.0, "ms_per_application": None}


def test_the_sampler_reads_this_machine_and_counts_only_applications_inside_its_window():
    import subprocess
    import sys
    import time

    # Another process uses CPU throughout the window (this one only waits, as bench.run does
    # while locust runs; a busy thread here would hold the GIL against the sampler's reads).
    busy = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time() + 1.5\nwhile time.time() < t: pass"])
    try:
        now = time.time()
        sampler = WindowSampler(now + 0.2, now + 1.0)
        sampler.start()
        figures = sampler.result([now - 10, now + 0.5, now + 0.6, now + 60])
    finally:
        busy.wait()
    assert figures["applications"] == 2
    assert figures["parts"]["other"]["ms_per_application"] >= 200  # about 400 of the busy process's 0.8 s
    assert figures["machine_busy_percent"] > 0


def test_the_report_shows_the_cpu_parts_of_a_level():
    level = {"rps": 18.0, "p50_ms": 80, "p95_ms": 130, "p99_ms": 260, "errors": 0, "accepted": 9, "found_in_db": 9,
             "cpu": {"machine_ms_per_application": 110.2, "machine_busy_percent": 98.1,
                     "parts": {"web": {"cores": 1.0, "ms_per_application": 56.1},
                               "worker": {"cores": 0.3, "ms_per_application": 17.0},
                               "beat": {"cores": 0.0, "ms_per_application": 0.2}}}}  # fmt: skip
    lines = table({"submit": {"c8": level}}).splitlines()
    assert (
        "| submit c8 | CPU ms per application (machine busy %) | 110.2 (98.1 %): web 56.1, worker 17.0 |  |  |" in lines
    )


def test_a_process_that_ends_inside_the_window_is_charged_what_it_used_until_its_last_reading():
    import subprocess
    import sys
    import time

    import psutil

    now = time.time()
    sampler = WindowSampler(now + 0.1, now + 2.0, every=0.2)
    sampler.start()
    # Busy for about 0.8 s from inside the window, then gone well before its end (as a database
    # backend is when its connection reaches its maximum age).
    time.sleep(0.2)
    child = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time() + 0.8\nwhile time.time() < t: pass"])
    key = (child.pid, psutil.Process(child.pid).create_time())
    child.wait()
    sampler.result([])
    (_, before, _), (_, after, _) = sampler.readings
    assert key not in before
    assert key in after, "the ended process has no reading in the window"
    # CPU seconds it had used at its last reading (about 0.6 s alone; less on a busy machine)
    assert after[key][1] >= 0.3
