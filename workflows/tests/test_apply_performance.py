"""The submit path stays cheap: a published version's form is read once per process (it is
frozen), a draft version's form is read every time (it is being edited), and each request of
applying runs a fixed, small number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from services.models import FormField, ServiceVersion
from workflows.apply.selectors import merged_form, version_parts_cache_clear
from workflows.tests.test_apply_support import (  # noqa: F401
    GOOD_ANSWERS,
    catalogue,
    vault_document,
    verify_alice,
)

pytestmark = pytest.mark.django_db


def test_a_published_versions_form_is_read_once(catalogue, django_assert_num_queries):  # noqa: F811
    version_parts_cache_clear()
    first = merged_form(
        [ServiceVersion.objects.select_related("service").get(pk=catalogue.version(catalogue.licence).pk)]
    )
    fresh = ServiceVersion.objects.select_related("service").get(pk=first.versions[0].pk)
    with django_assert_num_queries(0):
        again = merged_form([fresh])
    assert [spec.key for spec in again.fields] == [spec.key for spec in first.fields]
    assert [m.code for m in again.materials] == ["id-card-copy", "lease"]


def test_a_published_versions_merged_form_is_built_once_per_language_and_again_with_new_parts(
    catalogue,  # noqa: F811
):
    from django.utils import translation

    version_parts_cache_clear()
    pk = catalogue.version(catalogue.licence).pk

    def loaded() -> ServiceVersion:
        return ServiceVersion.objects.select_related("service").get(pk=pk)

    with translation.override("en"):
        english = merged_form([loaded()])
        assert merged_form([loaded()]) is english  # another request's own version object
    with translation.override("zh-hans"):
        chinese = merged_form([loaded()])
        assert chinese is not english and merged_form([loaded()]) is chinese
    assert [spec.key for spec in chinese.fields] == [spec.key for spec in english.fields]
    version_parts_cache_clear()  # the parts are read again (as when they expire): a new form
    with translation.override("en"):
        rebuilt = merged_form([loaded()])
    assert rebuilt is not english
    assert [spec.key for spec in rebuilt.fields] == [spec.key for spec in english.fields]


def test_a_draft_versions_form_is_never_kept(catalogue):  # noqa: F811
    published = catalogue.version(catalogue.licence)
    draft = ServiceVersion.objects.create(service=catalogue.licence, number=2)
    FormField.objects.create(version=draft, element=catalogue.elements["business.name"], section_en="Business")
    assert [spec.key for spec in merged_form([draft]).fields] == ["business.name"]

    FormField.objects.create(version=draft, element=catalogue.elements["business.kind"], section_en="Business", order=1)
    draft = ServiceVersion.objects.get(pk=draft.pk)
    assert [spec.key for spec in merged_form([draft]).fields] == ["business.name", "business.kind"]
    assert merged_form([draft]) is not merged_form([draft])
    assert len(merged_form([published]).fields) == 7


# Each request of applying through the API, with the form of a warm process: at most this many
# queries (the session read with its person, and the test's savepoints, included). An action's group is serialised
# as the action loaded it, never loaded a second time.
BUDGETS = {"create": 8, "attach": 11, "answer": 9, "submit": 13}


def test_each_request_of_applying_runs_a_few_queries(client, alice, catalogue):  # noqa: F811
    verify_alice(alice)
    client.force_login(alice)
    documents = [vault_document(alice, catalogue.id_card), vault_document(alice, catalogue.lease)]
    client.post("/api/drafts/", {"service": "business-licence"}, content_type="application/json")  # warm
    counts: dict[str, int] = {}

    def counted(name: str, send):
        with CaptureQueriesContext(connection) as queries:
            response = send()
        counts[name] = max(counts.get(name, 0), len(queries))
        return response

    created = counted(
        "create", lambda: client.post("/api/drafts/", {"service": "business-licence"}, content_type="application/json")
    )
    assert created.status_code == 201
    draft = created.json()
    for document in documents:
        body = {"document_type": document.document_type.code, "document": document.pk}
        attached = counted(
            "attach",
            lambda body=body: client.post(
                f"/api/drafts/{draft['id']}/documents/", body, content_type="application/json"
            ),
        )
        assert attached.status_code == 200
    assert [d["document"] for d in attached.json()["documents"]] == [d.pk for d in documents]
    answers = {k: v for k, v in GOOD_ANSWERS.items() if k != "business.has_employees"}
    body = {"revision": attached.json()["revision"], "data": answers}
    answered = counted(
        "answer", lambda: client.patch(f"/api/drafts/{draft['id']}/", body, content_type="application/json")
    )
    assert answered.status_code == 200
    assert answered.json()["missing"] == []
    submitted = counted(
        "submit", lambda: client.post(f"/api/drafts/{draft['id']}/submit/", HTTP_IDEMPOTENCY_KEY="perf-1")
    )
    assert submitted.status_code == 201
    assert [a["service"] for a in submitted.json()["applications"]] == ["business-licence"]
    assert all(counts[name] <= budget for name, budget in BUDGETS.items()), counts
