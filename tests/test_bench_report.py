"""The bench's readable table holds each figure against the Speed and Evidence issues' targets,
at whatever sizes were measured (results.md is what a reader of a run sees first)."""

from bench.report import table


def _queue(p95: float) -> dict:
    return {"p50_ms": p95 - 5, "p95_ms": p95, "queries": 13, "requests": {}}


def test_the_largest_queue_size_is_held_to_the_target_and_growth_names_its_span():
    results = {
        "queue": {"10000": _queue(40.0), "10000000": _queue(58.0), "growth": 1.45},
        "submit": {
            "c32": {
                "rps": 16.5,
                "p50_ms": 300,
                "p95_ms": 706.2,
                "p99_ms": 900,
                "errors": 0,
                "accepted": 10,
                "found_in_db": 10,
            },
        },
    }
    lines = table(results).splitlines()
    assert "| queue 10,000,000 | page p50 / p95 ms, queries | 53.0 / 58.0, 13 | p95 <= 60 | yes |" in lines
    assert "| queue 10,000 | page p50 / p95 ms, queries | 35.0 / 40.0, 13 |  |  |" in lines
    assert "| queue | growth 10,000 -> 10,000,000 (p95) | 1.45 | <= 1.5 | yes |" in lines
    assert "| submit c32 | submissions/s | 16.5 | >= 40 (c32) | **no** |" in lines
    assert "| submit c32 | submit p50 / p95 / p99 ms | 300 / 706.2 / 900 | p95 <= 300 (c32) | **no** |" in lines


def test_a_queue_size_that_failed_is_reported_not_dropped():
    results = {
        "queue": {
            "10000": _queue(40.0),
            "10000000": {"p95_ms": None, "requests": {"page_first": {"error": "HTTP 302"}}},
        }
    }
    text = table(results)
    assert "| queue 10,000,000 | error | {'page_first': 'HTTP 302'} |" in text


def test_the_applicants_part_of_the_ceiling_is_shown_beside_its_before_and_judged():
    results = {
        "ceiling_applicant": {"c8": {"tps": 120.0}, "c32": {"tps": 250.0, "tps_whole_run": 231.5}},
        "ceiling_applicant_before": {"c8": {"tps": 60.0}, "c32": {"tps": 47.0}},
        "ceiling_applicant_assessment": {"c32_target_tps": 235, "c32_met": True, "c32_not_below_c8": True},
    }
    lines = table(results).splitlines()
    assert (
        "| ceiling, applicant's part alone, c32 | pgbench flows/s warm, after / before (global hash chain) "
        "| 250.0 / 47.0 (whole run: 231.5) |  |  |" in lines
    )
    assert "| ceiling, applicant's part alone, c32 | against the target | 250.0 | >= 235 | yes |" in lines
    assert "| ceiling, applicant's part alone | c32 no lower than c8 | True | yes | yes |" in lines


def test_the_ceiling_before_shows_its_warm_rate_beside_the_whole_run():
    results = {"ceiling_before": {"c32": {"tps": 216.7, "tps_whole_run": 209.7}, "_info": {}}}
    lines = table(results).splitlines()
    row = "| ceiling before c32 | pgbench flows/s, warm (whole run), global hash chain | 216.7 (209.7) |  |  |"
    assert row in lines
