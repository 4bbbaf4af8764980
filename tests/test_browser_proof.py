"""Alice checks, in her own browser, that a clerk's look at her data is in the public log: the
"Prove it" page recomputes the root from the record and its audit path and checks the
checkpoint's Ed25519 signature against the published key (static/js/proof_check.js). A proof
changed on its way to the browser does not verify. Axe clean."""

import json

import pytest

from tests.support.browser import sign_in
from workflows.models import DataAccessRecord, LogLeaf
from workflows.tests.factories import application_submit, published_version
from workflows.transparency import keys
from workflows.transparency.sequencer import log_integrate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def looked_at(alice, clerk_a):
    application = application_submit(applicant=alice, version=published_version(), start=False)
    records = [
        DataAccessRecord.objects.create(
            accessor=clerk_a, applicant=alice, application=application, what=what, field_key=field
        )
        for what, field in (("view_application", ""), ("reveal_field", "person.id_number"), ("view_application", ""))
    ]
    log_integrate()
    return records[1]  # a leaf in the middle: its audit path has siblings on both sides


def test_alice_sees_the_proof_of_a_look_verified_in_her_browser(page, alice, password, looked_at, assert_accessible):
    failed_requests: list[str] = []
    page.on("response", lambda r: failed_requests.append(r.url) if r.status >= 400 else None)
    sign_in(page, "alice", password)
    page.goto("/account/access-log/")
    page.get_by_role("link", name="Prove it").nth(1).click()  # newest first: the reveal is the second
    assert page.get_by_role("heading", name="Proof that a record is in the public log").is_visible()
    assert "Revealed a protected field: person.id_number" in page.locator("#proof-record").inner_text()
    assert "Checked by One Door's server" in page.locator("#server-check").inner_text()
    result = page.locator("#browser-check[data-result=verified]")
    result.wait_for()
    text = result.inner_text()
    leaf = LogLeaf.objects.get(source="data_access", row_id=looked_at.pk)
    assert text.startswith(
        f"Verified in your browser: this record is entry {leaf.index} of the log {keys.log_origin()};"
    )
    assert f"signed by the log key {keys.log_signer().verifier.text}" in text
    assert failed_requests == []
    assert page.get_by_role("link", name="Download the proof (JSON)").get_attribute("href") == (
        f"/account/access-log/{looked_at.pk}/proof.json"
    )
    page.get_by_text("The checking script (verify_proof.py)").click()
    assert "the proof does not lead to the signed root" in page.locator("#proof-script").inner_text()
    assert_accessible(page)


def changed(route, change) -> None:
    """Serves the real proof file with one thing changed."""
    response = route.fetch()
    route.fulfill(response=response, body=json.dumps(change(response.json())))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        # Another record than the one the log holds: the path no longer leads to the signed root.
        (
            lambda proof: {**proof, "entry": proof["entry"].replace("reveal_field", "view_application")},
            "the proof does not lead from this record to the signed root",
        ),
        # A checkpoint claiming another tree: its signature no longer matches.
        (
            lambda proof: {**proof, "checkpoint": proof["checkpoint"].replace(f"\n{proof['tree_size']}\n", "\n2\n", 1)},
            "the checkpoint’s signature does not match the log’s key",
        ),
    ],
    ids=["changed-record", "changed-checkpoint"],
)
def test_a_changed_proof_does_not_verify_in_the_browser(
    page, alice, password, looked_at, assert_accessible, change, reason
):
    sign_in(page, "alice", password)
    page.route("**/proof.json", lambda route: changed(route, change))
    page.goto(f"/account/access-log/{looked_at.pk}/proof/")
    result = page.locator("#browser-check[data-result=failed]")
    result.wait_for()
    assert result.inner_text().startswith(f"This proof does not verify: {reason}")
    assert_accessible(page)
