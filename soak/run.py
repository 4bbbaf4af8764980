"""`make soak` / `python -m soak.run`: the chaos soak, start to finish.

1. a throwaway PostgreSQL cluster and Redis under var/soak, on free ports; migrate; the demo
   catalogue, citizens with a verified identity and documents in their vault, one clerk for
   each department the load needs, and a supervisor;
2. gunicorn, a Celery worker on every queue and the beat;
3. SOAK_SECONDS of citizens submitting and clerks approving while faults are injected;
4. everything restarted, the work drains (clerks keep deciding; incidents our faults explain
   are retried by the supervisor), and the database is checked (soak/checks.py);
5. var/soak/results.json, and exit status 1 when anything was lost, done twice, left
   inconsistent or unexplained.
"""

import json
import logging
import os
import random
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from soak.config import OUT, Config
from soak.stack import Postgres, Redis, Stack, free_port, wait_until

logger = logging.getLogger("soak")
CLERK_DEPARTMENTS = ("market", "tax")
CLERKS_PER_DEPARTMENT = 2


def _stop_on_signal(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so `finally` stops the stack we started


def prepare_out() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for path in OUT.iterdir():
        if path.name == "pg":
            continue  # Postgres.init() stops a leftover cluster before removing it
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def setup_django(config: Config) -> None:
    os.environ.update(config.app_env())
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    import django

    django.setup()
    logger.setLevel(logging.INFO)  # the portal's logging config sets the root to LOG_LEVEL (WARNING)


def seed(config: Config) -> dict[str, Any]:
    """Migrates and seeds the soak database; returns the signed-in sessions of the people."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    from accounts.actions import membership_grant
    from accounts.demo import seed_departments
    from accounts.models import Department, Role, User
    from bench.fixtures import citizens, session_for
    from documents.actions import document_upload
    from documents.models import Document
    from portal.demo import seed_demo_calendar
    from services.demo import seed_catalogue
    from services.models import DocumentType
    from workflows.apply.demo import demo_pdf

    call_command("migrate", verbosity=0, interactive=False)
    seed_demo_calendar()  # statutory deadlines need a complete working-day calendar
    seed_departments()
    seed_catalogue()
    people = citizens(config.citizens)
    licence = DocumentType.objects.get(code="business-licence")
    for person in people:
        if not Document.objects.filter(owner=person, document_type=licence).exists():
            pdf = demo_pdf("Business licence", person.display_name)
            upload = SimpleUploadedFile("business-licence.pdf", pdf, content_type="application/pdf")
            document_upload(owner=person, document_type=licence, uploaded_file=upload)
    clerks = []
    for code in CLERK_DEPARTMENTS:
        for n in range(CLERKS_PER_DEPARTMENT):  # two clerks race for the same queue: claims have one winner
            clerk, _ = User.objects.get_or_create(
                username=f"soak.clerk.{code}.{n}", defaults={"display_name": f"Clerk {n} of {code}"}
            )
            membership_grant(user=clerk, department=Department.objects.get(code=code), role=Role.CLERK)
            clerks.append(clerk)
    supervisor, _ = User.objects.get_or_create(username="soak.supervisor", defaults={"display_name": "Supervisor"})
    for code in ("market", "tax"):
        membership_grant(user=supervisor, department=Department.objects.get(code=code), role=Role.SUPERVISOR)
    documents = {
        (owner, code): pk
        for owner, code, pk in Document.objects.filter(
            owner__in=people, document_type__code__in=["id-card", "business-licence"]
        ).values_list("owner_id", "document_type__code", "pk")
    }
    return {
        "citizens": [
            {
                **session_for(person),
                "id-card": documents[(person.pk, "id-card")],
                "business-licence": documents[(person.pk, "business-licence")],
            }
            for person in people
        ],
        "clerks": [session_for(clerk) for clerk in clerks],
        "lease_pdf": demo_pdf("Lease agreement", "Soak"),
    }


def reconnect() -> None:
    from django.db import connections

    for connection in connections.all():
        connection.close()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s soak %(message)s", stream=sys.stdout)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)  # also when started in the background, where it is ignored
    config = Config()
    config.seed = config.seed or random.SystemRandom().randrange(1, 2**31)
    rng = random.Random(config.seed)
    config.web_port = config.web_port or free_port()
    config.pg_port = config.pg_port or free_port()
    config.redis_port = config.redis_port or free_port()
    prepare_out()
    postgres, redis_server = Postgres(config), Redis(config)
    stack = Stack(config)
    results: dict[str, Any] = {"seconds": config.seconds, "seed": config.seed, "citizens": config.citizens}
    ok = False
    try:
        logger.info("PostgreSQL on %s, Redis on %s, web on %s", config.pg_port, config.redis_port, config.web_port)
        postgres.init()
        postgres.start()
        postgres.psql(f'CREATE DATABASE "{config.db_name}"')
        redis_server.start()
        setup_django(config)
        people = seed(config)
        reconnect()
        stack.start_all()
        stack.wait_healthy()
        from soak.chaos import Chaos

        chaos = Chaos(stack, postgres, redis_server, rng, config.fault_min, config.fault_max)
        ok = soak(config, stack, chaos, people, results, lambda: postgres.psql("SELECT 1") == "1")
    except Exception as exc:
        logger.exception("the soak could not run")
        results["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        results["ok"] = ok
        stack.stop()
        redis_server.kill()
        postgres.stop(mode="fast", check=False)
        (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str))
        logger.info("results: %s", OUT / "results.json")
    return 0 if ok else 1


def soak(config: Config, stack: Stack, chaos: Any, people: dict[str, Any], results: dict[str, Any],
         database_up: Callable[[], bool]) -> bool:  # fmt: skip
    """Load, faults (`chaos`: anything with run(stop), counts(), log and failures), drain, checks."""
    from django.contrib.auth import get_user_model

    from soak.checks import incidents_retry, progress, verify
    from soak.load import Tally, accepted_as_dicts, citizen_loop, clerk_loop

    tally = Tally()
    stop_load, stop_clerks, stop_chaos = threading.Event(), threading.Event(), threading.Event()
    citizens = [
        threading.Thread(
            target=citizen_loop,
            args=(person, config.base_url, people["lease_pdf"], tally, stop_load, i, config.think_seconds),
            name=f"citizen-{i}",
            daemon=True,
        )
        for i, person in enumerate(people["citizens"])
    ]
    clerks = [
        threading.Thread(target=clerk_loop, args=(person, config.base_url, tally, stop_clerks), daemon=True)
        for person in people["clerks"]
    ]
    chaos_thread = threading.Thread(target=chaos.run, args=(stop_chaos,), daemon=True)
    for thread in (*citizens, *clerks, chaos_thread):
        thread.start()
    started = time.monotonic()
    while time.monotonic() - started < config.seconds:
        time.sleep(5)
        logger.info("%3.0f s: %s faults=%s", time.monotonic() - started, tally.as_dict(), chaos.counts())

    # Stop the faults first, then the citizens (each finishes its submit, retries included).
    stop_chaos.set()
    chaos_thread.join(120)
    stop_load.set()
    for thread in citizens:
        thread.join(90)
    load_stopped = time.monotonic()
    postgres_up = database_up()
    restarted = stack.restart_dead()
    stack.wait_healthy()
    logger.info("load stopped after %.0f s; postgres up=%s; restarted %s; draining", load_stopped - started,
                postgres_up, restarted)  # fmt: skip

    supervisor = get_user_model().objects.get(username="soak.supervisor")
    drained = False
    retried = 0
    state: dict[str, int] = {}

    last_log = 0.0

    def drained_now() -> bool:
        nonlocal retried, state, last_log
        reconnect()
        retried += incidents_retry(supervisor)["retried"]
        state = progress()
        if time.monotonic() - last_log > 15:
            last_log = time.monotonic()
            logger.info("draining for %.0f s: %s", time.monotonic() - load_stopped, state)
        return state["unfinished"] == 0 and state["live_items"] == 0 and state["outbox_unconfirmed"] == 0

    try:
        wait_until(drained_now, config.drain_seconds, "the work to drain", interval=2)
        drained = True
    except RuntimeError:
        logger.error("not drained after %s s: %s", config.drain_seconds, state)
    drain_seconds = round(time.monotonic() - load_stopped, 1)
    stop_clerks.set()
    for thread in clerks:
        thread.join(30)

    reconnect()
    accepted = accepted_as_dicts(tally)
    checks = verify(accepted)
    duplicated = sum(len(rows) for rows in checks["duplicated"].values())
    results.update(
        {
            "submitted": tally.submitted,
            "accepted": len(accepted),
            "lost": len(checks["lost"]),
            "duplicated": duplicated,
            "unconfirmed_submits": len(tally.unconfirmed),
            # Submits answered only on a later attempt with the same Idempotency-Key.
            "submits_retried": sum(1 for a in accepted if a["attempts"] > 1),
            "faults_injected": len(chaos.log),
            "faults_by_kind": chaos.counts(),
            "fault_injection_failures": chaos.failures,
            "drained": drained,
            "drain_seconds": drain_seconds,
            "drain_state": state,
            "incidents_retried": retried,
            "processes_restarted": stack.restarts,
            "load": tally.as_dict(),
            "checks": checks,
            "faults": chaos.log,
            "unconfirmed": tally.unconfirmed[:50],
        }
    )
    ok = (
        drained
        and not checks["lost"]
        and not duplicated
        and not checks["inconsistent_count"]
        and checks["outbox_unconfirmed"] == 0
        and not checks["incidents"]["unexplained"]
        and checks["incidents"]["open"] == 0
        and not chaos.failures
        and len(accepted) > 0
    )
    logger.info(
        "submitted=%s accepted=%s lost=%s duplicated=%s faults=%s drain=%ss ok=%s",
        tally.submitted, len(accepted), len(checks["lost"]), duplicated, len(chaos.log), drain_seconds, ok,
    )  # fmt: skip
    return ok


if __name__ == "__main__":
    sys.exit(main())
