"""After a correction, the clerk's work item says what changed since the last round: each answer
asked about, before and now, and each document replaced or added. Another department's clerk
sees nothing of it; retention removes the answers it keeps."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from documents.actions import document_issue
from workflows.engine.actions import correction_request, correction_submit, work_item_claim, work_item_decide
from workflows.models import WorkItem
from workflows.privacy.retention import retention_sweep
from workflows.tests.factories import supporting_type
from workflows.tests.test_workbench_support import attach_lease, make_pdf, routed_application, step, version_with
from workflows.workbench.selectors import correction_changes

pytestmark = pytest.mark.django_db


@pytest.fixture
def corrected(alice, clerk_a, department_a, department_b):
    """Alice's application: clerk A asked for the business name and the lease; Alice answered."""
    application = routed_application(applicant=alice, version=version_with(), **{"business.name": "Noodel House"})
    attach_lease(application)
    item = step(application)
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    correction_request(
        work_item_id=item.pk,
        actor=clerk_a,
        fields=["business.name", "business.floor_area_m2"],
        materials=["lease-contract"],
        message="Name and lease as on the contract.",
    )
    application.refresh_from_db()
    new_lease = document_issue(
        owner=alice, document_type=supporting_type(), content=make_pdf("v2"), display_name="signed-lease.pdf"
    )
    correction_submit(
        application_id=application.pk,
        applicant=alice,
        data={"business.name": "Noodle House", "business.floor_area_m2": application.data["business.floor_area_m2"]},
        documents={"lease-contract": new_lease.pk},
    )
    application.refresh_from_db()
    return application


def test_the_clerk_sees_answers_before_and_now_and_the_replaced_document(client, clerk_a, corrected):
    item = step(corrected)
    client.force_login(clerk_a)
    page = client.get(f"/workbench/items/{item.pk}/").content.decode()
    assert "What changed since the last round" in page
    assert "<del>Noodel House</del>" in page and "<ins>Noodle House</ins>" in page
    assert "Not changed:" in page  # the floor area was asked about and kept
    assert "Replaced" in page and "<del>lease.pdf</del>" in page and "signed-lease.pdf" in page
    assert "Name and lease as on the contract." in page
    # The evidence comes before the decision form.
    assert page.index('id="changes"') < page.index('id="documents"') < page.index('id="actions"')


def test_history_tells_the_answer_once(client, clerk_a, corrected):
    item = step(corrected)
    client.force_login(clerk_a)
    page = client.get(f"/workbench/items/{item.pk}/").content.decode()
    history = page[page.index('id="history"') :]
    assert history.count("Correction answered") == 1
    assert "Applicant sent the correction" not in history


def test_another_departments_clerk_sees_nothing(client, clerk_b, corrected):
    item = step(corrected)
    client.force_login(clerk_b)
    assert client.get(f"/workbench/items/{item.pk}/").status_code == 404


def test_no_correction_no_section(client, alice, clerk_a, department_a):
    application = routed_application(applicant=alice, version=version_with())
    item = step(application)
    client.force_login(clerk_a)
    assert "What changed since the last round" not in client.get(f"/workbench/items/{item.pk}/").content.decode()
    assert correction_changes(application, needs=None) is None


def test_retention_removes_the_answers_the_correction_kept(clerk_a, corrected, django_capture_on_commit_callbacks):
    item = step(corrected)
    with django_capture_on_commit_callbacks(execute=True):
        work_item_decide(work_item_id=item.pk, actor=clerk_a, decision=WorkItem.Decision.APPROVED)
    corrected.refresh_from_db()
    assert corrected.is_finished
    corrected.service.retention_days = 1
    corrected.service.save(update_fields=["retention_days"])
    later = time_machine.travel(timezone.now() + timedelta(days=3), tick=False)
    with later, django_capture_on_commit_callbacks(execute=True):
        retention_sweep()
    item.refresh_from_db()
    assert "changes" not in item.correction
    assert "Noodel" not in str(item.correction)
    assert correction_changes(corrected, needs=None) is None
