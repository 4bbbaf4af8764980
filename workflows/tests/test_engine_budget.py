"""The engine's statement budget: the bench's `engine` scenario (bench/engine.py) at 20
applications, each submit → three parallel reviews in three departments → join → a final
review → approved, in process on PostgreSQL. Every application must end approved with the
expected work items, events and notifications, and cost no more statements and durable
transactions than today: a change that makes a transition dearer fails here."""

import json
import os

import pytest

from bench import engine

pytestmark = pytest.mark.django_db(transaction=True)

# Today's cost per application (docs/benchmarks.md, "engine"): lower them when you make it cheaper.
STATEMENT_BUDGET = 49
DURABLE_TRANSACTION_BUDGET = 12
# The three e-mails recorded as sent commit without waiting for the WAL flush: not durable
# transactions, counted apart (a mark that waited again would be one more durable transaction).
ASYNC_COMMIT_BUDGET = 3


def test_twenty_applications_end_approved_within_the_statement_budget():
    result = engine.run(applications=20)
    if os.environ.get("ENGINE_BENCH_PRINT"):
        print(json.dumps(result, indent=1))
    assert result["failures"] == []
    assert result["applications"] == 20
    assert result["statements_per_application"] <= STATEMENT_BUDGET
    assert result["durable_transactions_per_application"] <= DURABLE_TRANSACTION_BUDGET
    assert result["async_commits_per_application"] <= ASYNC_COMMIT_BUDGET
