"""What the state already knows is offered back, marked, and correctable (DESIGN §3)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from workflows.apply.actions import draft_save, draft_start
from workflows.apply.selectors.reuse import known_values
from workflows.models import Application, ApplicationGroup
from workflows.tests.test_apply_support import ALICE_ID, catalogue, verify_alice  # noqa: F401

pytestmark = pytest.mark.django_db


def test_verified_values_prefill_the_draft(alice, catalogue):  # noqa: F811
    verify_alice(alice)
    group = draft_start(applicant=alice, service=catalogue.licence)
    assert group.data == {"person.full_name": "Alice Wang", "person.id_number": ALICE_ID}


def test_the_form_marks_prefilled_values_as_verified(client, alice, catalogue):  # noqa: F811
    verify_alice(alice)
    group = draft_start(applicant=alice, service=catalogue.licence)
    client.force_login(alice)
    page = client.get(reverse("workflows:apply-section", args=[group.pk, 1])).content.decode()
    assert 'value="Alice Wang"' in page
    assert page.count(">Verified<") == 2  # name and resident ID; the phone is not known
    assert 'name="person__phone" type="tel" value=""' in page


def test_someone_without_a_verified_profile_gets_an_empty_form(bob, catalogue):  # noqa: F811
    group = draft_start(applicant=bob, service=catalogue.licence)
    assert group.data == {}


def test_values_of_an_earlier_approved_application_are_offered(client, alice, catalogue):  # noqa: F811
    earlier = ApplicationGroup.objects.create(applicant=alice, submitted_at=timezone.now())
    Application.objects.create(
        group=earlier,
        applicant=alice,
        number="2025-TAX-000007",
        service=catalogue.tax,
        service_version=catalogue.version(catalogue.tax),
        status=Application.Status.APPROVED,
        data={"business.name": "Alice's Noodles", "person.full_name": "A. Wang"},
        submitted_at=timezone.now(),
        decided_at=timezone.now(),
    )
    group = draft_start(applicant=alice, service=catalogue.licence)
    assert group.data["business.name"] == "Alice's Noodles"
    client.force_login(alice)
    page = client.get(reverse("workflows:apply-section", args=[group.pk, 2])).content.decode()
    assert "From your application 2025-TAX-000007" in page


def test_a_rejected_application_is_not_reused(alice, catalogue):  # noqa: F811
    earlier = ApplicationGroup.objects.create(applicant=alice, submitted_at=timezone.now())
    Application.objects.create(
        group=earlier,
        applicant=alice,
        number="2025-TAX-000008",
        service=catalogue.tax,
        service_version=catalogue.version(catalogue.tax),
        status=Application.Status.REJECTED,
        data={"business.name": "Wrong Name Ltd"},
        submitted_at=timezone.now(),
    )
    assert "business.name" not in draft_start(applicant=alice, service=catalogue.licence).data


def test_changing_a_verified_value_is_flagged_for_the_clerk_and_shown_on_review(client, alice, catalogue):  # noqa: F811
    verify_alice(alice)
    group = draft_start(applicant=alice, service=catalogue.licence)

    draft_save(applicant=alice, group_id=group.pk, values={"person.full_name": "Alice Wang-Li"})
    group.refresh_from_db()
    assert group.changed_verified == ["person.full_name"]

    client.force_login(alice)
    review = client.get(reverse("workflows:apply-review", args=[group.pk])).content.decode()
    assert "Alice Wang-Li" in review
    assert "Changed from your verified details" in review
    assert review.count(">Verified<") == 1  # the resident ID is still the verified one

    draft_save(applicant=alice, group_id=group.pk, values={"person.full_name": "Alice Wang"})
    group.refresh_from_db()
    assert group.changed_verified == []


def _approved(alice, catalogue, n: int, name: str, decided_at):  # noqa: F811
    group = ApplicationGroup.objects.create(applicant=alice, submitted_at=decided_at)
    return Application.objects.create(
        group=group,
        applicant=alice,
        number=f"2025-TAX-{n:06d}",
        service=catalogue.tax,
        service_version=catalogue.version(catalogue.tax),
        status=Application.Status.APPROVED,
        data={"business.name": name},
        submitted_at=decided_at,
        decided_at=decided_at,
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_the_latest_approved_applications_are_read_in_order_from_an_index(alice, catalogue):  # noqa: F811
    """Someone with many approved applications: the prefill reads the latest few through
    `application_approved_latest`, in order, and never sorts all of them."""
    now = timezone.now()
    for n in range(60):
        _approved(alice, catalogue, n + 100, f"Noodles {n}", now - datetime.timedelta(days=60 - n))
    with CaptureQueriesContext(connection) as captured:
        known = known_values(user=alice, keys={"business.name"})
    assert known["business.name"].value == "Noodles 59"  # the latest decision's value
    ordered = 'ORDER BY "workflows_application"."decided_at" DESC'
    [sql] = [q["sql"] for q in captured.captured_queries if ordered in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflows_application, workflows_applicationgroup")
        # Sixty rows are few enough to sort: with sorting priced out, the plan shows whether an
        # index gives the query's order (without one, the Sort stays).
        for method in ("seqscan", "bitmapscan", "sort"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "application_approved_latest" in plan, plan
    assert "Sort" not in plan, plan
