"""The bench's machine reference (bench/reference.py): fixed work, the median of its timings,
written where a reader of a run sees it first."""

from django.contrib.auth import get_user_model
from django.template import Context, Engine

from bench import reference
from bench.report import table


def test_the_reference_work_is_the_same_every_time():
    template = Engine(debug=False).from_string(reference.TEMPLATE)
    # 60 × 12 rendered cells and 400 people: a change to the work changes this, and then
    # references measured before and after it no longer compare.
    assert reference._workload(template, Context, get_user_model()) == 29491
    assert reference._workload(template, Context, get_user_model()) == 29491


def test_the_reference_is_the_median_of_its_rounds(monkeypatch):
    # One quiet instant (10 ms) among ordinary rounds does not make the machine look fast.
    ticks = iter([0.0, 0.050, 1.0, 1.010, 2.0, 2.045, 3.0, 3.080])
    monkeypatch.setattr(reference.time, "perf_counter", lambda: next(ticks))
    assert reference.reference_ms(rounds=4) == 47.5


def test_the_table_shows_the_machine_reference_through_the_run():
    text = table({"machine": {"cpus": 2, "reference_ms": {"start": 31.2, "c32": 33.9, "end": 32.0}}})
    assert "Machine reference (ms, lower is faster): start 31.2, c32 33.9, end 32.0" in text
    assert "Machine reference: not measured" in table({"machine": {"cpus": 2}})
