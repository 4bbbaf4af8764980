"""The readable table: results against the issue's targets."""

from typing import Any

TARGETS = {
    "submit_rps_c32": 40,  # the Speed issue: >= 40 complete applications/s at 32 users on two cores
    "submit_p95_c32": 300,
    "submit_over_ceiling": 0.35,
    "routing_p95": 250,
    "queue_p95_largest": 60,  # at the largest size measured (10,000,000 in the Speed issue)
    "queue_growth": 1.5,
    "dashboard_p95_1m": 200,
    "memory_web": 150,
    "memory_worker": 200,
    "engine_statements": 60,
    "engine_durable": 12,
    "ceiling_c32": 235,  # 5x the 47/s of the global hash chain at c32
    "sequencer_rows_per_s": 5000,
}


def _mark(ok: bool | None) -> str:
    return "" if ok is None else ("yes" if ok else "**no**")


def _autovacuum_line(figures: dict[str, Any] | None) -> str:
    if not figures:
        return "Autovacuum: not recorded"
    if not figures.get("stand_in"):
        return "Autovacuum: the server's own"
    return (
        f"Autovacuum: off on the server; the bench's stand-in (autovacuum's rule every {figures['interval_s']} s) "
        f"analysed {figures['tables_analysed']} and vacuumed {figures['tables_vacuumed']} tables during the loads, "
        f"in {figures['seconds_spent']} s"
    )


def _reference_line(references: dict[str, float] | None) -> str:
    """The machine's speed through the run (bench/reference.py): lower is faster."""
    if not references:
        return "Machine reference: not measured"
    return "Machine reference (ms, lower is faster): " + ", ".join(f"{k} {v}" for k, v in references.items())


def cpu_parts_text(parts: dict[str, dict]) -> str:
    """The parts using at least 1 ms per application, largest first: "web 56.2, worker 17.0"."""
    shown = [(name, p["ms_per_application"]) for name, p in parts.items() if (p["ms_per_application"] or 0) >= 1]
    return ", ".join(f"{name} {ms}" for name, ms in shown)


def table(results: dict[str, Any]) -> str:
    m = results.get("machine", {})
    lines = [
        f"Machine: {m.get('cpus')} CPUs, {m.get('memory_gb')} GB, PostgreSQL {m.get('postgres')}, "
        f"Redis {m.get('redis')}, Python {m.get('python')}; {results.get('started_at', '')}",
        f"Stack: {results.get('stack', {}).get('description', '')}",
        _reference_line(m.get("reference_ms")),
        _autovacuum_line(results.get("autovacuum")),
        "",
        "| scenario | figure | value | target | met |",
        "|---|---|---|---|---|",
    ]

    def row(scenario: str, figure: str, value: Any, target: str = "", ok: bool | None = None) -> None:
        lines.append(f"| {scenario} | {figure} | {value} | {target} | {_mark(ok)} |")

    engine = results.get("engine")
    if engine and "error" in engine:
        row("engine", "error", engine["error"])
    elif engine:
        row("engine", "applications (failed)", f"{engine['applications']} ({len(engine['failures'])})", "0 failed",
            not engine["failures"])  # fmt: skip
        row("engine", "statements per application", engine["statements_per_application"], "<= 60",
            engine["statements_per_application"] <= TARGETS["engine_statements"])  # fmt: skip
        row("engine", "durable transactions per application", engine["durable_transactions_per_application"],
            "<= 12", engine["durable_transactions_per_application"] <= TARGETS["engine_durable"])  # fmt: skip
        row("engine", "asynchronous commits per application (e-mails recorded as sent)",
            engine.get("async_commits_per_application"))  # fmt: skip
        row("engine", "rows written per application", engine["rows_written_per_application"])
        row("engine", "ms per application (median / p95)", f"{engine['ms_per_application']} / {engine['ms_p95']}")
        row("engine", "CPU ms per application (Python / PostgreSQL)",
            f"{engine['python_cpu_ms_per_application']} / {engine['postgres_cpu_ms_per_application']}")  # fmt: skip
    for level, figures in results.get("submit", {}).items():
        if "error" in figures:
            row(f"submit {level}", "error", figures["error"])
            continue
        is_32 = level == "c32"
        row(f"submit {level}", "submissions/s", figures["rps"], ">= 40 (c32)" if is_32 else "",
            figures["rps"] >= TARGETS["submit_rps_c32"] if is_32 else None)  # fmt: skip
        row(f"submit {level}", "submit p50 / p95 / p99 ms",
            f"{figures['p50_ms']} / {figures['p95_ms']} / {figures['p99_ms']}",
            "p95 <= 300 (c32)" if is_32 else "",
            figures["p95_ms"] <= TARGETS["submit_p95_c32"] if is_32 else None)  # fmt: skip
        row(f"submit {level}", "whole application p50 / p95 ms (6 requests)",
            f"{figures.get('flow_p50_ms')} / {figures.get('flow_p95_ms')}")  # fmt: skip
        row(f"submit {level}", "errors", figures["errors"], "0", figures["errors"] == 0)
        row(f"submit {level}", "accepted / found in DB", f"{figures['accepted']} / {figures['found_in_db']}", "equal",
            figures["accepted"] == figures["found_in_db"])  # fmt: skip
        cpu = figures.get("cpu") or {}
        if cpu.get("parts"):
            text = f"{cpu['machine_ms_per_application']} ({cpu['machine_busy_percent']} %): "
            row(f"submit {level}", "CPU ms per application (machine busy %)", text + cpu_parts_text(cpu["parts"]))
    for level, figures in results.get("ceiling", {}).items():
        if level == "error":
            row("ceiling", "error", figures)
        if level.startswith("_") or not isinstance(figures, dict):
            continue
        ratio = results.get("submit_over_ceiling", {}).get(level)
        row(
            f"ceiling {level}",
            "pgbench flows/s, warm (whole run)",
            f"{figures.get('tps')} ({figures.get('tps_whole_run')})",
        )
        if ratio is not None:
            row(f"ceiling {level}", "submit / ceiling", ratio, ">= 0.35", ratio >= TARGETS["submit_over_ceiling"])
    info = results.get("ceiling", {}).get("_info", {})
    if info.get("protocol"):
        row("ceiling", "pgbench query mode (as the portal's connection sends SQL)", info["protocol"])
    before = results.get("ceiling_before", {})
    for level, figures in before.items():
        if not level.startswith("_"):
            row(f"ceiling before {level}", "pgbench flows/s, warm (whole run), global hash chain",
                f"{figures.get('tps')} ({figures.get('tps_whole_run')})")  # fmt: skip
    verdict = results.get("ceiling_assessment")
    if verdict:
        c32 = results.get("ceiling", {}).get("c32", {}).get("tps")
        row("ceiling c32", "against the target", c32, f">= {verdict['c32_target_tps']}", verdict["c32_met"])
        row("ceiling", "c32 no lower than c8", verdict["c32_not_below_c8"], "yes", verdict["c32_not_below_c8"])
        for level, ratio in verdict.get("after_over_before", {}).items():
            row(f"ceiling {level}", "after / before", ratio)
    applicant, applicant_before = results.get("ceiling_applicant", {}), results.get("ceiling_applicant_before", {})
    for level, figures in applicant.items():
        if not level.startswith("_"):
            was = applicant_before.get(level, {}).get("tps")
            row(f"ceiling, applicant's part alone, {level}", "pgbench flows/s warm, after / before (global hash chain)",
                f"{figures.get('tps')} / {was} (whole run: {figures.get('tps_whole_run')})")  # fmt: skip
    verdict = results.get("ceiling_applicant_assessment")
    if verdict:
        c32 = applicant.get("c32", {}).get("tps")
        row("ceiling, applicant's part alone, c32", "against the target", c32, f">= {verdict['c32_target_tps']}",
            verdict["c32_met"])  # fmt: skip
        row("ceiling, applicant's part alone", "c32 no lower than c8", verdict["c32_not_below_c8"], "yes",
            verdict["c32_not_below_c8"])  # fmt: skip
    sequencer = results.get("sequencer", {})
    if "rows_per_s" in sequencer:
        row(f"sequencer under submit ({sequencer.get('level')})", "rows integrated/s", sequencer["rows_per_s"])
        row(f"sequencer under submit ({sequencer.get('level')})", "row lag p50 / p95 / max ms",
            f"{sequencer['lag_p50_ms']} / {sequencer['lag_p95_ms']} / {sequencer['lag_max_ms']}")  # fmt: skip
        row(f"sequencer under submit ({sequencer.get('level')})", "oldest queued row, max s",
            sequencer["oldest_queued_max_s"])  # fmt: skip
    capacity = sequencer.get("capacity", {})
    if "error" in capacity:
        row("sequencer", "error", capacity["error"])
    elif capacity:
        rate = capacity.get("rows_per_second") or 0
        row("sequencer", f"rows/s, {capacity.get('rows'):,} queued rows", rate, ">= 5000",
            rate >= TARGETS["sequencer_rows_per_s"])  # fmt: skip
    routing = results.get("routing")
    if routing:
        row("routing (c32)", "p50 / p95 ms", f"{routing.get('p50_ms')} / {routing.get('p95_ms')}", "p95 <= 250",
            routing.get("p95_ms", 1e9) <= TARGETS["routing_p95"])  # fmt: skip
    queue = results.get("queue", {})
    sizes = sorted((key for key in queue if key.isdigit()), key=int)
    for size in sizes:
        figures = queue[size]
        if figures.get("p95_ms") is None:
            row(f"queue {int(size):,}", "error", {n: r.get("error") for n, r in figures.get("requests", {}).items()})
            continue
        big = size == sizes[-1] and len(sizes) > 1
        row(f"queue {int(size):,}", "page p50 / p95 ms, queries",
            f"{figures['p50_ms']} / {figures['p95_ms']}, {figures['queries']}",
            "p95 <= 60" if big else "", figures["p95_ms"] <= TARGETS["queue_p95_largest"] if big else None)  # fmt: skip
        for name, request in figures.get("requests", {}).items():
            if name == "page_first" or "error" in request:
                continue
            row(f"queue {int(size):,}", f"{name} p50 / p95 ms, queries",
                f"{request['p50_ms']} / {request['p95_ms']}, {request['queries']}")  # fmt: skip
    if "growth" in queue:
        span = f"{int(sizes[0]):,} -> {int(sizes[-1]):,}"
        row("queue", f"growth {span} (p95)", queue["growth"], "<= 1.5", queue["growth"] <= TARGETS["queue_growth"])
    for size, figures in results.get("dashboard", {}).items():
        if "p95_ms" not in figures:
            continue
        big = size == "1000000"
        row(f"dashboard {int(size):,}", "page p50 / p95 ms, queries (slower of supervisor, administrator)",
            f"{figures['p50_ms']} / {figures['p95_ms']}, {figures['queries']}",
            "p95 <= 200 (1M)" if big else "",
            figures["p95_ms"] <= TARGETS["dashboard_p95_1m"] if big else None)  # fmt: skip
        for name in ("supervisor", "administrator"):
            person = figures.get(name, {})
            if "p95_ms" in person:
                row(f"dashboard {int(size):,}", f"{name} p50 / p95 ms, queries",
                    f"{person['p50_ms']} / {person['p95_ms']}, {person['queries']}")  # fmt: skip
    memory = results.get("memory_mb")
    if memory:
        row("memory", "web worker peak RSS MB", memory["web"], "<= 150", memory["web"] <= TARGETS["memory_web"])
        row("memory", "Celery worker peak RSS MB", memory["worker"], "<= 200",
            memory["worker"] <= TARGETS["memory_worker"])  # fmt: skip
    return "\n".join(lines) + "\n"
