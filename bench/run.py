"""`make bench`: runs the real stack and every scenario, writes var/bench/results.json and
var/bench/results.md, and prints the table. See docs/benchmarks.md.

Environment knobs (bench/config.py): BENCH_SECONDS (30), BENCH_WARMUP (10), BENCH_LEVELS
(1,8,32), BENCH_QUEUE_SIZES (10000,1000000), BENCH_SCENARIOS
(engine,submit,ceiling,queue,dashboard,sequencer), BENCH_ENGINE_APPLICATIONS (200), BENCH_CEILING_BEFORE
(1), BENCH_SEQUENCER_ROWS (100000), BENCH_DASHBOARD_SIZES (100000,1000000), BENCH_DASHBOARD_SAMPLES (40),
BENCH_WEB_CLASS (sync|gthread), BENCH_WEB_WORKERS (CPUs), BENCH_WEB_THREADS (4, gthread),
BENCH_DB_NAME (onedoor_bench), BENCH_REDIS_URL (redis://127.0.0.1:6379/8), BENCH_PORT (8765),
BENCH_QUEUE_REUSE (keep a loaded database), BENCH_OUT (var/bench).
"""

import datetime
import json
import os
import sys
import time
from dataclasses import replace
from typing import Any

from bench.config import OUT, ROOT, Config
from bench.stack import (
    PY,
    MemorySampler,
    Stack,
    database_drop,
    database_exists,
    database_recreate,
    machine,
    manage,
    redis_flush,
)


def log(message: str) -> None:
    # UTC throughout: django.setup() switches the process's local time zone to the portal's
    # part-way through a run, and a log whose clock jumps by eight hours misleads its reader.
    print(f"[bench {time.strftime('%H:%M:%SZ', time.gmtime())}] {message}", flush=True)


def main() -> int:
    config = Config()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "private").mkdir(exist_ok=True)
    os.environ.update(config.app_env())
    results: dict[str, Any] = {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "config": {
            "seconds": config.seconds, "warmup": config.warmup, "levels": config.levels,
            "queue_sizes": config.queue_sizes, "dashboard_sizes": config.dashboard_sizes,
            "departments": config.departments,
            "scenarios": config.scenarios,
        },
    }  # fmt: skip
    reuse = config.queue_reuse and database_exists(config)
    if reuse:
        log(f"reusing database {config.db_name} (BENCH_QUEUE_REUSE), Redis {config.redis_url}")
    else:
        log(f"fresh database {config.db_name}, Redis {config.redis_url}")
        database_recreate(config)
    redis_flush(config)
    manage(config, "migrate", "--noinput")
    if not reuse:
        manage(config, "seed_demo")
    results["machine"] = machine(config)

    import django

    django.setup()
    from bench import autovacuum, ceiling, dashboard, fixtures, loader, queue, sequencer, submit
    from bench.reference import reference_ms
    from bench.report import table
    from workflows.apply.demo import demo_pdf

    # How fast the machine runs Django code now (bench/reference.py), before anything runs.
    references = results["machine"]["reference_ms"] = {"start": reference_ms()}
    log(f"machine reference: {references['start']} ms")

    if "engine" in config.scenarios:
        # In process, before the stack starts: the engine's own cost on a quiet database.
        from bench import engine

        engine.calendar_load()
        log(f"engine: {config.engine_applications} applications through the route, in process")
        try:
            results["engine"] = engine.run(applications=config.engine_applications)
        except Exception as exc:  # noqa: BLE001 - reported, the other scenarios still run
            results["engine"] = {"error": f"{type(exc).__name__}: {exc}", "failures": [str(exc)]}
        log(f"  {results['engine'].get('statements_per_application')} statements, "
            f"{results['engine'].get('durable_transactions_per_application')} durable transactions, "
            f"{results['engine'].get('async_commits_per_application')} asynchronous commits, "
            f"{results['engine'].get('ms_per_application')} ms per application")  # fmt: skip

    stack = Stack(config)
    sampler = standin = None
    try:
        log(f"starting gunicorn ({config.web_workers} {config.web_class} workers), Celery worker and beat")
        stack.start()
        health = stack.wait_healthy()
        results["stack"] = {
            "description": f"gunicorn {config.web_workers}x{config.web_class}"
            + (f" ({config.web_threads} threads)" if config.web_class == "gthread" else "")
            + f", Celery prefork concurrency {config.worker_concurrency} on every queue + beat; "
            "PORTAL_ENV=production, DEBUG off, SECURE_SSL_REDIRECT=false (plain HTTP on 127.0.0.1)",
            "health": health,
        }
        sampler = MemorySampler(stack)
        sampler.start()
        lease = demo_pdf("Lease agreement", "Bench Citizen")
        lease_file = OUT / "lease.pdf"
        lease_file.write_bytes(lease)
        people = fixtures.citizens(max(config.levels) + 1)
        # The load scenarios run with autovacuum as a portal's PostgreSQL has it (bench/autovacuum.py).
        standin = autovacuum.StandIn(config.database_url, interval=config.autovacuum_seconds).begin()

        if "submit" in config.scenarios:
            sessions_file = OUT / "sessions.json"
            submit.write_sessions(sessions_file, [fixtures.session_for(p) for p in people[:-1]])
            results["submit"], routing_by_level, sequencer_by_level = {}, {}, {}
            for level in config.levels:
                # The previous level's work drained, the machine's speed just before this level.
                stack.wait_quiet(timeout=60)
                references[f"c{level}"] = reference_ms()
                log(f"submit at concurrency {level}: {config.warmup} s warm-up + {config.seconds} s "
                    f"(machine reference {references[f'c{level}']} ms)")  # fmt: skip
                watch = sequencer.UnderLoad(config.database_url, interval=config.sequencer_sample_seconds)
                watch.start()
                started = time.time()
                figures = submit.run_level(config, users=level, sessions_file=sessions_file, lease_file=lease_file)
                # The level's measured window (after its warm-up), as submit.run_level counts it.
                window = figures.pop("_window", (started + config.warmup, started + config.warmup + config.seconds))
                lag = watch.finish(start=window[0], end=window[1])
                sequencer_by_level[f"c{level}"] = lag
                log(f"  sequencer: {lag['rows_per_s']} rows/s, lag p95 {lag['lag_p95_ms']} ms, "
                    f"max {lag['lag_max_ms']} ms over {lag['rows_in_window']} rows")  # fmt: skip
                if "error" in figures:
                    results["submit"][f"c{level}"] = figures
                    continue
                everything, window = figures.pop("_accepted_all"), figures.pop("_accepted_window")
                routing_by_level[f"c{level}"] = submit.routing(window)
                figures["found_in_db"] = submit.check_in_db(window)
                figures["accepted_including_warmup"] = len(everything)
                figures["found_in_db_including_warmup"] = submit.check_in_db(everything)
                figures["reference_ms"] = references[f"c{level}"]
                results["submit"][f"c{level}"] = figures
                log(f"  {figures['rps']}/s, submit p95 {figures['p95_ms']} ms, errors {figures['errors']}, "
                    f"routing p95 {routing_by_level[f'c{level}']['p95_ms']} ms")  # fmt: skip
            top = f"c{max(config.levels)}"
            results["routing"] = {**routing_by_level.get(top, {}), "level": top, "by_level": routing_by_level}
            results["sequencer"] = {**sequencer_by_level.get(top, {}), "level": top, "by_level": sequencer_by_level}

        if "ceiling" in config.scenarios:
            log("ceiling: capturing one application's SQL and replaying it with pgbench")
            try:
                results["ceiling"] = ceiling.ceiling(config, user=people[-1], lease_pdf=lease)
            except Exception as exc:  # noqa: BLE001 - reported, the other scenarios still run
                results["ceiling"] = {"error": f"{type(exc).__name__}: {exc}"}
            if "_before" in results["ceiling"]:
                results["ceiling_before"] = results["ceiling"].pop("_before")
                results["ceiling_assessment"] = ceiling.assessment(results["ceiling"], results["ceiling_before"])
                log(f"  after {ceiling.levels_text(results['ceiling'])}; "
                    f"before (global chain) {ceiling.levels_text(results['ceiling_before'])}")  # fmt: skip
            if "_applicant" in results["ceiling"]:
                applicant = results["ceiling_applicant"] = results["ceiling"].pop("_applicant")
                applicant_before = results["ceiling"].pop("_applicant_before", None)
                log(f"  applicant's part alone: after {ceiling.levels_text(applicant)}")
                if applicant_before:
                    results["ceiling_applicant_before"] = applicant_before
                    results["ceiling_applicant_assessment"] = ceiling.assessment(applicant, applicant_before)
                    log(f"  applicant's part alone: before {ceiling.levels_text(applicant_before)}")
            ratios = {}
            for level, figures in results.get("submit", {}).items():
                tps = results["ceiling"].get(level, {}).get("tps")
                if tps and "rps" in figures:
                    ratios[level] = round(figures["rps"] / tps, 3)
            results["submit_over_ceiling"] = ratios
        standin.end()
        results["autovacuum"] = standin.figures()
        log(f"autovacuum during the loads: {results['autovacuum']}")

        # The queue and the dashboard share the loaded applications: the loader only adds, so
        # the sizes of both are measured in increasing order.
        queue_sizes = config.queue_sizes if "queue" in config.scenarios else []
        dashboard_sizes = config.dashboard_sizes if "dashboard" in config.scenarios else []
        if queue_sizes:
            results["queue"] = {}
        if dashboard_sizes:
            results["dashboard"] = {}
        for size in sorted(set(queue_sizes) | set(dashboard_sizes)):
            log(f"loading up to {size:,} applications with COPY")
            loaded = loader.load(total=size, departments=config.departments)
            log(f"  loaded {loaded}")
            # What the earlier scenarios left for the worker runs first, not during the pages.
            loaded["settled"] = settled = stack.wait_quiet()
            log(f"  waited {settled['seconds']} s for the machine to go quiet (CPU {settled['cpu_percent']}%)")
            if size in queue_sizes:
                figures = queue.measure(config, size=size)
                figures["load"] = loaded
                results["queue"][str(size)] = figures
                log(f"  queue: page p95 {figures['p95_ms']} ms, {figures['queries']} queries")
                failed = {name: r["error"] for name, r in figures["requests"].items() if "error" in r}
                if failed:
                    log(f"  queue: requests that failed: {failed}")
            if size in dashboard_sizes:
                figures = dashboard.measure(config, size=size)
                figures["load"] = loaded
                results["dashboard"][str(size)] = figures
                log(f"  dashboard: rollups built in {figures['rollups']['seconds']} s; page p95 "
                    f"{figures.get('p95_ms')} ms, {figures.get('queries')} queries "
                    f"(supervisor {figures['supervisor'].get('p95_ms')} ms, "
                    f"administrator {figures['administrator'].get('p95_ms')} ms)")  # fmt: skip
        if "queue" in config.scenarios:
            sizes = [str(s) for s in config.queue_sizes]
            if len(sizes) >= 2 and results["queue"][sizes[0]].get("p95_ms"):
                small, big = results["queue"][sizes[0]], results["queue"][sizes[-1]]
                results["queue"]["growth"] = round(big["p95_ms"] / small["p95_ms"], 2)
                results["queue"]["growth_by_request"] = {
                    name: round(big["requests"][name]["p95_ms"] / small["requests"][name]["p95_ms"], 2)
                    for name in small.get("requests", {})
                    if "p95_ms" in small["requests"][name] and "p95_ms" in big["requests"].get(name, {})
                }

        if "sequencer" in config.scenarios:
            # On a scratch database of its own, while the stack is idle.
            scratch = replace(config, db_name=f"{config.db_name}_sequencer")
            log(f"sequencer: {config.sequencer_rows:,} rows queued at once on {scratch.db_name}")
            database_recreate(scratch)
            try:
                figures = sequencer.capacity(
                    database_url=scratch.database_url, rows=config.sequencer_rows, cwd=str(ROOT), python=PY,
                    env=config.app_env(),
                )  # fmt: skip
            finally:
                database_drop(scratch)
            results.setdefault("sequencer", {})["capacity"] = figures
            log(f"  {figures.get('rows_per_second')} rows/s")
    finally:
        if standin is not None:
            standin.end()
        if sampler is not None:
            memory = sampler.stop()
            results["memory_mb"] = {"web": memory["web"], "worker": memory["worker"], "detail": memory}
        stack.stop()
        references["end"] = reference_ms()
        (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str))

    text = table(results)
    (OUT / "results.md").write_text(text)
    print(text)
    log("wrote var/bench/results.json and var/bench/results.md")
    if results.get("engine", {}).get("failures"):
        log("engine: some applications did not end as the route says (results.json: engine.failures)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
