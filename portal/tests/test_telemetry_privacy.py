"""Traces and logs never hold personal data: a whole journey (register, sign in, search, answer
the questions with a name and a resident ID, upload a document, submit; a clerk claims, reveals
the resident ID and decides), with tasks run by a real worker, traced and logged as production
does (JSON lines at INFO, every library instrumented). No log line of either process and no
span of either contains the name, the resident ID, the e-mail address or the document's text,
while the spans do record the requests (by URL pattern, the user by id), the SQL statements
(with placeholders) and the Redis commands (arguments masked)."""

import json

import pytest
import redis
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from portal.tests.test_log_privacy import DOCUMENT_WORDS, EMAIL, NAME, PASSWORD, section_answers
from tests.support.processes import wait_until
from tests.support.tracing import file_spans
from workflows.apply.actions import draft_start
from workflows.models import Application, OutboxMessage, WorkItem
from workflows.tests.test_apply_support import ALICE_ID, build_catalogue, fill_everything, pdf_upload
from workflows.tests.test_workbench_support import routed_application, step, version_with

FORBIDDEN = [NAME, "Meiling", "Lindqvist", ALICE_ID, ALICE_ID[:14], EMAIL, "meiling.zhou", DOCUMENT_WORDS]


def all_sent_tasks_ran() -> bool:
    return not OutboxMessage.objects.filter(confirmed_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_whole_journey_leaves_no_personal_data_in_spans_or_logs(
    worker_factory, clerk_a, tmp_path, web_spans, json_log
):
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    spans_file = tmp_path / "worker-spans.jsonl"
    worker = worker_factory(extra_env={"TRACING_SPANS_FILE": str(spans_file), "LOG_FORMAT": "json"})

    resident = Client()
    registered = resident.post(
        reverse("accounts:register"),
        {
            "display_name": NAME,
            "email": EMAIL,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "preferred_language": "en",
        },
    )
    assert registered.status_code == 302
    person = User.objects.get(email=EMAIL)
    resident.post(reverse("accounts:logout"))
    assert resident.post(reverse("accounts:login"), {"username": EMAIL, "password": "not it"}).status_code == 200
    assert resident.post(reverse("accounts:login"), {"username": EMAIL, "password": PASSWORD}).status_code == 302
    # What someone searches for is in the query string: never in a span.
    assert resident.get("/services/", {"q": NAME, "id": ALICE_ID}).status_code in (200, 404)

    catalogue = build_catalogue()
    group = draft_start(applicant=person, service=catalogue.licence)
    fill_everything(group, person, catalogue)
    section_answers(
        resident, group.pk, {"person.full_name": NAME, "person.id_number": ALICE_ID, "person.phone": "13800138000"}
    )
    uploaded = resident.post(
        "/api/vault/documents/",
        {"document_type": catalogue.lease.code, "file": pdf_upload("tenancy.pdf", DOCUMENT_WORDS)},
    )
    assert uploaded.status_code == 201, uploaded.content
    attached = resident.post(
        f"/api/drafts/{group.pk}/documents/",
        {"document_type": catalogue.lease.code, "document": uploaded.json()["id"]},
        content_type="application/json",
    )
    assert attached.status_code == 200, attached.content
    review = resident.get(reverse("workflows:apply-review", args=[group.pk])).content.decode()
    token = review.split('name="token" value="')[1].split('"')[0]
    assert resident.post(reverse("workflows:apply-submit", args=[group.pk]), {"token": token}).status_code == 302

    # A clerk claims a review of another of her applications, reveals the ID number and approves.
    application = routed_application(
        applicant=person,
        version=version_with(),
        **{"person.full_name": NAME, "person.id_number": ALICE_ID, "business.name": "Zhou's Dumplings"},
    )
    clerk = Client()
    clerk.force_login(clerk_a)
    item = step(application)
    assert clerk.post(reverse("workflows:workbench-claim", args=[item.pk])).status_code in (200, 302)
    assert clerk.get(reverse("workflows:workbench-item", args=[item.pk])).status_code == 200
    revealed = clerk.post(reverse("workflows:workbench-reveal", args=[item.pk]), {"field": "person.id_number"})
    assert ALICE_ID in revealed.content.decode()  # the clerk saw it: it went through the traced stack
    decided = clerk.post(reverse("workflows:workbench-decide", args=[item.pk]), {"decision": "approved"})
    assert decided.status_code == 302
    wait_until(all_sent_tasks_ran, 90, message="every task the journey caused ran in the worker")
    assert WorkItem.objects.get(pk=item.pk).decision == WorkItem.Decision.APPROVED
    assert Application.objects.filter(group=group).exclude(status=Application.Status.SUBMITTED).exists()

    web, worker_spans = web_spans.all(), file_spans(spans_file)
    texts = {
        "web log": json_log.getvalue(),
        "worker log": worker.log(),
        "web spans": "\n".join(json.dumps(span, ensure_ascii=False) for span in web),
        "worker spans": spans_file.read_text(),
    }
    leaks = [
        f"{where}: {line[:400]}"
        for where, text in texts.items()
        for line in text.splitlines()
        for word in FORBIDDEN
        if word.lower() in line.lower()
    ]
    assert not leaks, "personal data in telemetry:\n" + "\n".join(leaks)

    # The telemetry is there, so the absence above means something.
    statements = [
        span["attributes"]["db.statement"] for span in web + worker_spans if "db.statement" in span["attributes"]
    ]
    assert any("%s" in statement for statement in statements)  # placeholders, not values
    assert any(span["name"] == "run/workflows.application_start" for span in worker_spans)
    submit_span = next(span for span in web if span["name"] == "POST applications/<int:group_id>/submit/")
    assert submit_span["attributes"]["enduser.id"] == str(person.pk)
    search = next(span for span in web if span["name"].startswith("GET") and "services" in span["name"])
    assert "?" not in search["attributes"].get("http.url", "") and NAME.split()[0] not in json.dumps(search)
    redis_commands = [
        span["attributes"]["db.statement"]
        for span in web + worker_spans
        if span["attributes"].get("db.system") == "redis" and "db.statement" in span["attributes"]
    ]
    assert redis_commands  # the cache and the broker were used, and traced
    # One line per command (a pipeline has several): its name ("SCRIPT EXISTS" has two words),
    # then "?" for every argument.
    lines = [line.split() for command in redis_commands for line in command.splitlines()]
    unmasked = [words for words in lines if not all(w == "?" or (w.isalpha() and w.isupper()) for w in words)]
    assert not unmasked, unmasked[:5]
    worker_lines = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    assert any(line.get("trace_id") for line in worker_lines)  # log lines lead to their trace
