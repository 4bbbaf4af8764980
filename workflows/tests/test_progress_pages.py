"""The applicant's application pages: status, each department's clock, timeline, correction,
decision, withdrawal, bundles; and Bob never sees Alice's."""

import pytest
from django.urls import reverse

from workflows.models import Application, ApplicationGroup, WorkItem
from workflows.tests.progress_support import TWO_DEPARTMENTS, ask_correction, decide, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(alice, django_capture_on_commit_callbacks):
    return submit(django_capture_on_commit_callbacks, applicant=alice, route=TWO_DEPARTMENTS)


def test_it_shows_status_route_and_each_department_clock(client, alice, application):
    client.force_login(alice)
    response = client.get(reverse("workflows:progress-application", args=[application.number]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "In progress" in page
    assert "Business licence" in page and "Fire safety check" in page
    assert "Market Regulation" in page
    assert "working days left" in page
    assert "<svg" in page
    assert "The departments are handling the application" in page or "Started: Business licence" in page


def test_a_failed_automatic_step_is_shown_as_delayed_never_as_a_false_status(client, alice, application):
    application.work_items.filter(status=WorkItem.Status.OPEN).update(status=WorkItem.Status.FAILED)
    client.force_login(alice)
    page = client.get(reverse("workflows:progress-application", args=[application.number])).content.decode()
    assert "Delayed — being handled" in page


def test_it_answers_404_to_someone_else(client, bob, application):
    client.force_login(bob)
    for name in ("progress-application", "progress-withdraw", "progress-rate", "progress-correction"):
        assert client.get(reverse(f"workflows:{name}", args=[application.number])).status_code == 404
    assert (
        client.post(reverse("workflows:progress-withdraw", args=[application.number]), {"confirm": "on"}).status_code
        == 404
    )
    application.refresh_from_db()
    assert application.status == Application.Status.IN_PROGRESS


def test_it_asks_to_sign_in(client, application):
    response = client.get(reverse("workflows:progress-application", args=[application.number]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_correction_call_to_action_and_form_with_only_requested_fields(
    client, alice, clerk_a, application, django_capture_on_commit_callbacks
):
    ask_correction(django_capture_on_commit_callbacks, application, "licence", clerk_a, message="Name mismatch")
    client.force_login(alice)
    page = client.get(reverse("workflows:progress-application", args=[application.number])).content.decode()
    assert "Action needed" in page and "Name mismatch" in page
    assert "Stopped — waiting for you" in page
    assert reverse("workflows:progress-correction", args=[application.number]) in page
    form_page = client.get(reverse("workflows:progress-correction", args=[application.number])).content.decode()
    assert 'name="field-business.name"' in form_page
    assert 'name="field-person.full_name"' not in form_page
    # Bad input: kept, explained, nothing sent.
    response = client.post(
        reverse("workflows:progress-correction", args=[application.number]), {"field-business.name": ""}
    )
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("workflows:progress-correction", args=[application.number]),
            {"field-business.name": "Noodle House Ltd"},
        )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == Application.Status.IN_PROGRESS
    assert application.data["business.name"] == "Noodle House Ltd"


def test_refusal_shows_the_reasons(client, alice, clerk_a, application, django_capture_on_commit_callbacks):
    decide(
        django_capture_on_commit_callbacks, application, "licence", clerk_a, decision="rejected",
        reasons=["The premises are not registered for catering."],
    )  # fmt: skip
    client.force_login(alice)
    page = client.get(reverse("workflows:progress-application", args=[application.number])).content.decode()
    assert "Why the application was refused" in page
    assert "The premises are not registered for catering." in page
    assert "Withdraw this application" not in page


def test_withdraw_needs_confirmation_then_withdraws(client, alice, application, django_capture_on_commit_callbacks):
    client.force_login(alice)
    url = reverse("workflows:progress-withdraw", args=[application.number])
    assert "Withdraw your application?" in client.get(url).content.decode()
    response = client.post(url, {})
    assert response.status_code == 400 and "Tick the box" in response.content.decode()
    application.refresh_from_db()
    assert application.status == Application.Status.IN_PROGRESS
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"confirm": "on"}).status_code == 302
    application.refresh_from_db()
    assert application.status == Application.Status.WITHDRAWN
    page = client.get(reverse("workflows:progress-application", args=[application.number])).content.decode()
    assert "You withdrew the application" in page


def test_bundle_page_shows_each_service_with_its_clock(client, alice, bob, django_capture_on_commit_callbacks):
    first = submit(django_capture_on_commit_callbacks, applicant=alice, route=TWO_DEPARTMENTS)
    second = submit(django_capture_on_commit_callbacks, applicant=alice)
    group = first.group
    Application.objects.filter(pk=second.pk).update(group=group)
    ApplicationGroup.objects.filter(pk=group.pk).update(number="2026-EVT-000001")
    client.force_login(alice)
    page = client.get(reverse("workflows:progress-group", args=["2026-EVT-000001"])).content.decode()
    assert first.number in page and second.number in page
    assert page.count("working days left") >= 2
    client.force_login(bob)
    assert client.get(reverse("workflows:progress-group", args=["2026-EVT-000001"])).status_code == 404


def test_my_applications_links_to_each_application_page(client, alice, application):
    client.force_login(alice)
    page = client.get(reverse("workflows:apply-list")).content.decode()
    assert reverse("workflows:progress-application", args=[application.number]) in page


def test_the_clerks_internal_remark_never_reaches_the_applicant(
    client, alice, clerk_a, django_capture_on_commit_callbacks
):
    # The decision form says "Internal remark (not shown to the applicant)": neither the page,
    # the API nor the notifications show it, on a rejection or an approval.
    for decision in ("rejected", "approved"):
        application = submit(django_capture_on_commit_callbacks, applicant=alice)
        decide(
            django_capture_on_commit_callbacks,
            application,
            "licence",
            clerk_a,
            decision=decision,
            reasons=["The lease does not cover food service."] if decision == "rejected" else [],
            note="INTERNAL: the landlord called us",
        )
        client.force_login(alice)
        page = client.get(reverse("workflows:progress-application", args=[application.number])).content.decode()
        body = client.get(f"/api/my/applications/{application.number}/").content.decode()
        messages = " ".join(n.subject + n.body for n in alice.notifications.all())
        assert "landlord" not in page and "landlord" not in body and "landlord" not in messages
        if decision == "rejected":
            assert "The lease does not cover food service." in page
