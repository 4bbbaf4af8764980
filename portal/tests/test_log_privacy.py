"""Logs never hold personal data: a whole journey (register, a mistyped password, sign in,
apply, submit, a clerk reveals the ID number and decides) is logged as production logs it (JSON
lines, INFO), and no line contains the person's name, resident ID, e-mail address or a word of
their documents. Every line carries a request id; the signed-in person appears by id only."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from workflows.apply.actions import draft_attach_document, draft_start
from workflows.models import Application
from workflows.tests.test_apply_support import ALICE_ID, build_catalogue, fill_everything, vault_document
from workflows.tests.test_workbench_support import routed_application, step, version_with

pytestmark = pytest.mark.django_db

NAME = "Meiling Zhou-Lindqvist"
EMAIL = "meiling.zhou@example.org"
PASSWORD = "a long passphrase for the journey"
DOCUMENT_WORDS = "Tenancy-of-Unit-4471-Riverside"


def section_answers(client: Client, group_id: int, answers: dict[str, str]) -> None:
    url = reverse("workflows:apply-section", args=[group_id, 1])
    page = client.get(url).content.decode()
    revision = re.search(r'name="base_revision" value="(\d+)"', page)
    assert revision, "no base revision on the question page"
    posted = {key.replace(".", "__"): value for key, value in answers.items()}
    response = client.post(url, {**posted, "base_revision": revision.group(1)})
    assert response.status_code == 302, response.content.decode()[:2000]


def test_a_whole_journey_logs_no_name_no_resident_id_and_no_document_content(json_log, clerk_a):
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

    # Apply: the answers through the question page, a document whose words must stay out of logs.
    catalogue = build_catalogue()
    group = draft_start(applicant=person, service=catalogue.licence)
    fill_everything(group, person, catalogue)
    section_answers(
        resident, group.pk, {"person.full_name": NAME, "person.id_number": ALICE_ID, "person.phone": "13800138000"}
    )
    lease = vault_document(person, catalogue.lease, marker=DOCUMENT_WORDS)
    draft_attach_document(applicant=person, group_id=group.pk, document_type=catalogue.lease, document_id=lease.pk)
    review = resident.get(reverse("workflows:apply-review", args=[group.pk])).content.decode()
    token = review.split('name="token" value="')[1].split('"')[0]
    submitted = resident.post(reverse("workflows:apply-submit", args=[group.pk]), {"token": token})
    assert submitted.status_code == 302
    assert resident.get(submitted.url).status_code == 200
    number = Application.objects.filter(group=group).values_list("number", flat=True).first()
    assert resident.get(reverse("workflows:progress-application", args=[number])).status_code == 200

    # A clerk claims a step of another of her applications, reveals the ID number and approves.
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
    clerk.post(reverse("workflows:workbench-reveal", args=[item.pk]), {"field": "person.id_number"})
    decided = clerk.post(reverse("workflows:workbench-decide", args=[item.pk]), {"decision": "approved"})
    assert decided.status_code == 302
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED

    lines = json_log.getvalue().splitlines()
    assert len(lines) >= 5, lines  # the journey was logged: sign-in failure, tasks, …
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    forbidden = [NAME, "Meiling", "Lindqvist", ALICE_ID, ALICE_ID[:14], EMAIL, DOCUMENT_WORDS]
    leaks = [line for line in lines for word in forbidden if word.lower() in line.lower()]
    assert not leaks, "personal data in the logs:\n" + "\n".join(leaks)
    # Lines written while a request was answered carry its id and the signed-in person's id.
    submitted_line = next(record for record in records if record["message"].startswith("submitted group="))
    assert submitted_line["request_id"] and str(submitted_line["user_id"]) == str(person.pk)
    approved_line = next(record for record in records if "step_approved" in record["message"])
    assert approved_line["request_id"] and str(approved_line["user_id"]) == str(clerk_a.pk)
    failed_line = next(record for record in records if record["message"].startswith("login_failed"))
    assert failed_line["request_id"] and failed_line["user_id"] is None


def test_a_failed_sign_in_with_an_e_mail_address_logs_a_digest_of_it(client, caplog):
    client.post(reverse("accounts:login"), {"username": "Someone@Example.org", "password": "wrong"})
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("login_failed"))
    assert "someone" not in line.lower()
    assert re.search(r"username=email:[0-9a-f]{12} ", line)
