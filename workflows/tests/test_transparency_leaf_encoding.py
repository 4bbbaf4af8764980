"""The sequencer has PostgreSQL encode and hash a batch's leaves (leaves.entry_sql); proofs,
verify_audit and anyone checking encode them in Python (leaves.entry_of). These tests hold the
two to the same bytes for every kind of value an audit row holds, and show the one case the SQL
side leaves to Python (a number that is not whole) still gets the right leaf."""

import pytest
from django.db import connection

from lib.merkle import leaf_hash
from portal.security.audit import audit_verify
from workflows.models import ApplicationEvent, DataAccessRecord, LogLeaf
from workflows.tests.factories import application_submit, published_version
from workflows.transparency.leaves import MODELS, SOURCES, entry_for, entry_sql
from workflows.transparency.sequencer import log_integrate

pytestmark = pytest.mark.django_db

# Escapes both sides must write alike: quote, backslash, the short escapes, other control
# characters (\u00xx, lower case), and what neither escapes (DEL, U+2028, CJK, astral planes).
AWKWARD_TEXT = 'a "quoted" \\ back\tslash\nnew\rline\x08\x0c\x01\x1f\x7f \u2028 办事 é 😀'

PAYLOADS = [
    {},
    [],
    {"b": 1, "a": [2], "B": None},
    # Keys in code-point order: upper before lower, 'aa' after 'a', é, U+FFFD before an emoji.
    {"😀": 1, "\ufffd": 2, "é": 3, "aa": 4, "a": 5, "Z": 6, "": 7, AWKWARD_TEXT: 8},
    {"nested": {"z": [{"y": {}, "x": []}, True, False, None], "a": {"deeper": {"b": "c", "a": "d"}}}},
    {"big": 2**70, "negative": -12345678901234567890, "zero": 0, "negative_zero": -0},
    {"steps": {"licence": "done", "fire": "skipped"}, "text": AWKWARD_TEXT},
    ["a", 1, [2, [3, {}]], {"k": "v"}],
    "a plain string payload",
    42,
    True,
]


@pytest.fixture
def application(alice):
    return application_submit(applicant=alice, version=published_version(), start=False)


def sql_entry(row):
    source = SOURCES[type(row)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {entry_sql(source, 'r')} FROM {MODELS[source]._meta.db_table} r WHERE r.id = %s",
            [row.pk],
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_postgresql_writes_an_events_leaf_exactly_as_python_does(payload, application, clerk_a):
    row = ApplicationEvent.objects.create(
        application=application, actor=clerk_a, kind="note", reason=AWKWARD_TEXT, payload=payload
    )
    row = ApplicationEvent.objects.get(pk=row.pk)  # as read back: what the log covers

    assert sql_entry(row) == entry_for(row).decode()


def test_postgresql_writes_an_access_records_leaf_exactly_as_python_does(alice, clerk_a, application):
    with_nulls = DataAccessRecord.objects.create(accessor=clerk_a, applicant=alice, what="listed")
    full = DataAccessRecord.objects.create(
        accessor=clerk_a,
        applicant=alice,
        application=application,
        department=clerk_a.memberships.first().department,
        what="reveal_field",
        field_key=AWKWARD_TEXT[:100],
    )

    shown = DataAccessRecord.objects.create(
        accessor=clerk_a,
        applicant=alice,
        application=application,
        what="viewed",
        visible={"elements": ["person.full_name", AWKWARD_TEXT], "documents": []},
    )
    empty = DataAccessRecord.objects.create(accessor=clerk_a, applicant=alice, what="viewed", visible={})

    for row in (with_nulls, full, shown, empty):
        assert sql_entry(row) == entry_for(row).decode()
    assert '"visible":' in sql_entry(shown) and '"visible"' not in sql_entry(empty)
    assert '"document_id":null' in sql_entry(with_nulls) and '"department_id":null' in sql_entry(with_nulls)


def test_a_payload_with_a_fraction_is_left_to_python_and_its_leaf_is_still_right(application, clerk_a):
    log_integrate()  # the submission's own events
    fraction = ApplicationEvent.objects.create(
        application=application, kind="note", payload={"when": {"gt": 300.5, "tiny": 1e-7, "whole": 1.0}}
    )
    whole = ApplicationEvent.objects.create(application=application, kind="note", payload={"when": {"gt": 300}})
    assert sql_entry(fraction) is None  # PostgreSQL would print 1e-07 as 0.0000001
    assert sql_entry(whole) is not None

    assert log_integrate() == 2

    for row in (fraction, whole):
        leaf = LogLeaf.objects.get(source="application_event", row_id=row.pk)
        assert bytes(leaf.hash) == leaf_hash(entry_for(row))
    assert LogLeaf.objects.get(source="application_event", row_id=fraction.pk).index + 1 == (
        LogLeaf.objects.get(source="application_event", row_id=whole.pk).index
    )  # still in queue order
    report = audit_verify()
    assert report.ok, report.problems


def test_every_leaf_the_sequencer_writes_is_the_one_python_computes(application, alice, clerk_a):
    for payload in PAYLOADS:
        ApplicationEvent.objects.create(application=application, actor=clerk_a, kind="note", payload=payload)
    DataAccessRecord.objects.create(accessor=clerk_a, applicant=alice, what="reveal_field", field_key="x\ty")

    assert log_integrate() >= len(PAYLOADS) + 1

    for leaf in LogLeaf.objects.all():
        row = MODELS[leaf.source].objects.get(pk=leaf.row_id)
        assert bytes(leaf.hash) == leaf_hash(entry_for(row)), (leaf.source, leaf.row_id)
