"""The bench's own harness still runs against today's schema and engine: the ceiling's capture of
one application's whole work, and the sequencer's rows, written as the product writes them.
(`make bench` is not part of `make test`; these keep its scenarios from breaking unseen.)"""

import shutil
import subprocess

import pytest
from django.db import connection
from django.db.models import F

from accounts.demo import seed_accounts
from bench import ceiling, fixtures, loader, sequencer
from portal.demo import seed_demo
from workflows.apply.demo import demo_pdf
from workflows.models import Application, LogHead, WorkItem
from workflows.transparency.sequencer import log_integrate

pytestmark = pytest.mark.django_db(transaction=True)

AUDIT_TABLES = ("workflows_applicationevent", "workflows_dataaccessrecord")


@pytest.fixture
def sequences_restored():
    """The database's sequences (ids and the readable application numbers) as they were before
    the test: the ceiling moves them to ranges of its own, and the test database is shared with
    the rest of the suite, whose numbers read like 2026-MKT-000001."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()"
        )
        saved = cursor.fetchall()
    yield
    before = {(schema, name): last_value for schema, name, last_value in saved}
    with connection.cursor() as cursor:
        cursor.execute("SELECT schemaname, sequencename FROM pg_sequences WHERE schemaname = current_schema()")
        for schema, name in cursor.fetchall():
            qualified = f'"{schema}"."{name}"'
            last_value = before.get((schema, name))
            if last_value is None:  # unused before the test, or made during it: back to its start
                cursor.execute(f"ALTER SEQUENCE {qualified} RESTART")
            else:
                cursor.execute("SELECT setval(%s, %s, true)", [qualified, last_value])


def test_the_ceiling_captures_one_applications_whole_work_and_parameterises_it(tmp_path, sequences_restored):
    if connection.vendor != "postgresql":
        pytest.skip("the ceiling replays PostgreSQL SQL")
    seed_demo()  # what `make bench` seeds: calendar, departments, accounts, catalogue
    (citizen,) = fixtures.citizens(1)
    lease = demo_pdf("Lease agreement", "Bench Citizen")
    ceiling.separate_id_ranges()  # moves every sequence of this database: put back at the end
    clerks = ceiling.Clerks()
    from django.test import Client

    client = Client()
    client.force_login(citizen)
    ceiling.capture(client, citizen, lease, 900_001, clerks)
    first = ceiling.capture(client, citizen, lease, 900_002, clerks)
    second = ceiling.capture(client, citizen, lease, 900_003, clerks)

    commands, info = ceiling.build_script(first, second)

    # The citizen's requests, the routing, and a clerk's work on every review step are in it.
    requests = set(info["statements_by_request"])
    assert {"draft create", "vault upload", "submit", "clerk open item", "clerk claim", "clerk decide"} <= requests
    assert info["statements"] >= 100
    audit_inserts = [c for c in commands if any(f'INSERT INTO "{t}"' in c for t in AUDIT_TABLES)]
    assert len(audit_inserts) >= 5
    assert ceiling.with_global_chain(commands).count(ceiling.CHAIN_LOCK) == len(audit_inserts)
    # Each captured application was worked to the end: no review step left open.
    applications = Application.objects.filter(applicant=citizen)
    assert applications.count() == 3
    assert not WorkItem.objects.filter(
        application__in=applications, kind=WorkItem.Kind.REVIEW, status=WorkItem.Status.OPEN
    ).exists()
    assert set(applications.values_list("status", flat=True)) == {Application.Status.APPROVED}

    # pgbench replays it without an error: every id a statement uses is the one its own run
    # inserted (a batch's ids included), so no replay collides with another on a unique key.
    if shutil.which("pgbench") is None:
        pytest.skip("pgbench (postgresql-client) is not installed")
    script = tmp_path / "ceiling.sql"
    script.write_text(ceiling.script_text(commands))
    settings = connection.settings_dict
    replay = subprocess.run(
        ["pgbench", "-h", settings["HOST"] or "127.0.0.1", "-p", str(settings["PORT"] or 5432),
         "-U", settings["USER"] or "postgres", "-n", "-M", "simple", "-f", str(script), "-c", "2", "-j", "2",
         "-t", "3", "-D", "run=7", "-D", "seq=0", settings["NAME"]],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert replay.returncode == 0, replay.stderr[-2000:]
    assert "number of failed transactions: 0" in replay.stdout or "aborted" not in replay.stderr
    assert "number of transactions actually processed: 6/6" in replay.stdout, replay.stdout[-1500:]


def test_the_applicants_part_alone_is_captured_without_any_clerks_work(sequences_restored):
    """The second ceiling script (BENCH_CEILING_APPLICANT): the six requests of the citizen's
    flow and nothing a clerk does; the application stays with its review steps open."""
    if connection.vendor != "postgresql":
        pytest.skip("the ceiling replays PostgreSQL SQL")
    seed_demo()
    (citizen,) = fixtures.citizens(1)
    lease = demo_pdf("Lease agreement", "Bench Citizen")
    ceiling.separate_id_ranges()
    from django.test import Client

    client = Client()
    client.force_login(citizen)
    clerks = ceiling.Clerks()
    ceiling.capture(client, citizen, lease, 900_010, clerks, whole=False)  # warms first-use caches
    first = ceiling.capture(client, citizen, lease, 900_011, clerks, whole=False)
    second = ceiling.capture(client, citizen, lease, 900_012, clerks, whole=False)

    commands, info = ceiling.build_script(first, second)

    requests = set(info["statements_by_request"])
    assert {"draft create", "vault upload", "draft attach", "draft answer", "submit"} <= requests
    assert not [name for name in requests if name.startswith("clerk")]
    assert not clerks.clients  # no clerk was even signed in
    applications = Application.objects.filter(applicant=citizen)
    assert applications.count() == 3
    assert WorkItem.objects.filter(
        application__in=applications, kind=WorkItem.Kind.REVIEW, status=WorkItem.Status.OPEN
    ).exists()
    assert not applications.filter(status=Application.Status.APPROVED).exists()
    assert any('INSERT INTO "workflows_applicationevent"' in c for c in commands)  # the submitted event


def test_the_sequencer_bench_rows_are_written_as_the_product_writes_them_and_integrated():
    if connection.vendor != "postgresql":
        pytest.skip("the sequencer's bench measures PostgreSQL")
    seed_accounts()
    from accounts.models import User

    user = User.objects.get(username="alice")
    log_integrate()
    before = LogHead.objects.get().size
    queued = sequencer.rows_queue(accessor_id=user.pk, application_id=None, rows=40)
    assert queued == 40
    integrated = 0
    while done := log_integrate(batch_size=16):
        integrated += done
    assert integrated == 40
    assert LogHead.objects.get().size == before + 40


def test_the_loader_checks_every_loaded_reference_and_finds_a_broken_one():
    if connection.vendor != "postgresql":
        pytest.skip("the loader uses PostgreSQL's COPY")
    seed_demo()
    loaded = loader.load(total=300, departments=3)
    assert loaded["added"] == 300 and loaded["work_items"] == 600
    assert WorkItem.objects.filter(application__number__startswith="BQ").count() == 600
    # Each carries its application's service, as the engine writes it.
    assert not WorkItem.objects.exclude(service_id=F("application__service_id")).exists()
    assert not WorkItem.objects.filter(service__isnull=True).exists()
    first = Application.objects.order_by("id").values_list("id", flat=True).first()
    assert loader.orphans(Application, first) == {} and loader.orphans(WorkItem, 1) == {}
    # A work item pointing at no application (written with the checks off, as the load does) is found.
    missing = Application.objects.order_by("-id").values_list("id", flat=True).first() + 1000
    item = WorkItem.objects.order_by("id").first()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute("UPDATE workflows_workitem SET application_id = %s WHERE id = %s", [missing, item.pk])
        finally:
            cursor.execute("SET session_replication_role = origin")
    assert loader.orphans(WorkItem, item.pk) == {"application": 1}
    WorkItem.objects.filter(pk=item.pk).delete()
