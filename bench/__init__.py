"""`make bench`: the benchmark harness (issue 8). Run with `python -m bench.run`.

Not part of `make test`; see docs/benchmarks.md for what it measures and how to read it.
"""
