"""Submission happens once: double clicks, retries and two concurrent requests with one key
give one group and one set of applications; the engine's start is in the outbox in the same
transaction; the receipt shows the numbers and the statutory due dates."""

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from tests.support.calendar import expected_due_date
from tests.support.concurrency import in_threads
from workflows import clock
from workflows.apply.actions import IdempotencyKeyReused, draft_start, group_submit
from workflows.models import Application, ApplicationGroup, OutboxMessage
from workflows.tests.test_apply_support import build_catalogue, catalogue, fill_everything  # noqa: F401


def _ready_draft(alice, cat, life_event: bool = True) -> ApplicationGroup:
    group = draft_start(applicant=alice, **({"life_event": cat.restaurant} if life_event else {"service": cat.licence}))
    fill_everything(group, alice, cat)
    return group


@pytest.mark.django_db
def test_submitting_twice_with_one_key_returns_the_first_submission(alice, catalogue):  # noqa: F811
    group = _ready_draft(alice, catalogue)
    first = group_submit(applicant=alice, group_id=group.pk, idempotency_key="retry-1")
    again = group_submit(applicant=alice, group_id=group.pk, idempotency_key="retry-1")
    assert first.created and not again.created
    assert again.group.pk == first.group.pk
    assert Application.objects.count() == 3
    assert OutboxMessage.objects.filter(task="workflows.application_start").count() == 3


@pytest.mark.django_db
def test_a_submitted_draft_submitted_again_with_another_key_changes_nothing(alice, catalogue):  # noqa: F811
    group = _ready_draft(alice, catalogue)
    group_submit(applicant=alice, group_id=group.pk, idempotency_key="tab-1")
    again = group_submit(applicant=alice, group_id=group.pk, idempotency_key="tab-2")
    assert not again.created
    assert again.group.idempotency_key == "tab-1"
    assert Application.objects.count() == 3


@pytest.mark.django_db
def test_one_key_cannot_submit_two_drafts(alice, catalogue):  # noqa: F811
    first, second = _ready_draft(alice, catalogue), _ready_draft(alice, catalogue, life_event=False)
    group_submit(applicant=alice, group_id=first.pk, idempotency_key="same")
    with pytest.raises(IdempotencyKeyReused):
        group_submit(applicant=alice, group_id=second.pk, idempotency_key="same")
    assert ApplicationGroup.objects.get(pk=second.pk).is_draft
    assert Application.objects.filter(group=second).count() == 0  # its attempt rolled back whole


@pytest.mark.django_db
def test_a_key_of_one_submitted_draft_is_refused_on_another_submitted_one(alice, catalogue):  # noqa: F811
    first, second = _ready_draft(alice, catalogue), _ready_draft(alice, catalogue, life_event=False)
    group_submit(applicant=alice, group_id=first.pk, idempotency_key="first")
    group_submit(applicant=alice, group_id=second.pk, idempotency_key="second")
    with pytest.raises(IdempotencyKeyReused):
        group_submit(applicant=alice, group_id=second.pk, idempotency_key="first")
    again = group_submit(applicant=alice, group_id=second.pk, idempotency_key="second")
    assert not again.created and [a.service.code for a in again.applications] == ["business-licence"]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submits_with_one_key_make_one_group_and_one_set_of_applications(alice):
    cat = build_catalogue()
    group = _ready_draft(alice, cat)

    results = in_threads(2, lambda _i: group_submit(applicant=alice, group_id=group.pk, idempotency_key="k"))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert {r.group.pk for r in results} == {group.pk}
    assert sorted(r.created for r in results) == [False, True]
    assert ApplicationGroup.objects.filter(submitted_at__isnull=False).count() == 1
    numbers = list(Application.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == 3
    assert OutboxMessage.objects.filter(task="workflows.application_start").count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_of_different_drafts_never_share_a_number(alice):
    cat = build_catalogue()
    drafts = [_ready_draft(alice, cat, life_event=False) for _ in range(4)]

    results = in_threads(4, lambda i: group_submit(applicant=alice, group_id=drafts[i].pk, idempotency_key=f"key-{i}"))

    assert not [r for r in results if isinstance(r, Exception)], results
    numbers = list(Application.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == 4


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_submit_shows_one_receipt(client, alice):
    cat = build_catalogue()
    group = _ready_draft(alice, cat)
    client.force_login(alice)
    review = client.get(reverse("workflows:apply-review", args=[group.pk])).content.decode()
    token = review.split('name="token" value="')[1].split('"')[0]

    first = client.post(reverse("workflows:apply-submit", args=[group.pk]), {"token": token})
    second = client.post(reverse("workflows:apply-submit", args=[group.pk]), {"token": token})

    assert first.status_code == second.status_code == 302
    assert first.url == second.url == reverse("workflows:apply-receipt", args=[group.pk])
    assert Application.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_receipt_shows_numbers_what_happens_next_and_due_dates(frozen_now, client, alice):
    cat = build_catalogue()
    group = _ready_draft(alice, cat)
    client.force_login(alice)
    response = client.post(reverse("workflows:apply-submit", args=[group.pk]), {"token": "t"}, follow=True)

    page = response.content.decode()
    assert "Application submitted" in page
    assert "What happens next" in page
    for application in Application.objects.all():
        assert application.number in page
        due = expected_due_date(timezone.localdate(frozen_now), application.service_version.time_limit_days)
        assert clock.due_date(application.statutory_due_at) == due
        assert date_format(due, "DATE_FORMAT") in page  # e.g. 11 December 2026, the last day allowed
    # The engine's start went through the outbox after commit; whatever the engine did with
    # it, the applicant got the receipt.
    for message in OutboxMessage.objects.filter(task="workflows.application_start"):
        assert message.sent_at is not None or message.last_error


@pytest.mark.django_db
def test_the_outbox_rows_are_written_in_the_submit_transaction(alice, catalogue, django_capture_on_commit_callbacks):  # noqa: F811
    group = _ready_draft(alice, catalogue)
    with django_capture_on_commit_callbacks() as callbacks:
        outcome = group_submit(applicant=alice, group_id=group.pk, idempotency_key="k")
        # Inside the same transaction: the rows exist, claimed for their one send after commit
        # (the relay leaves them alone until the resend interval has passed); nothing sent yet.
        rows = OutboxMessage.objects.filter(task="workflows.application_start")
        assert sorted(r.kwargs["application_id"] for r in rows) == sorted(
            outcome.group.applications.values_list("pk", flat=True)
        )
        assert not rows.filter(next_attempt_at__lte=timezone.now()).exists()
    assert len(callbacks) == 3  # one send per application, only after commit


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_submission_leaves_no_application_and_no_outbox_row(alice):
    cat = build_catalogue()
    group = _ready_draft(alice, cat)

    with pytest.raises(RuntimeError), transaction.atomic():
        group_submit(applicant=alice, group_id=group.pk, idempotency_key="k")
        raise RuntimeError("the database connection dropped before commit")

    assert not Application.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert ApplicationGroup.objects.get(pk=group.pk).is_draft
    # And the retry afterwards succeeds. The rolled-back attempt's numbers are not given back
    # (numbers are unique, not consecutive: workflows/numbers.py), and none is issued twice.
    outcome = group_submit(applicant=alice, group_id=group.pk, idempotency_key="k")
    assert outcome.created
    numbers = list(outcome.group.applications.values_list("number", flat=True))
    assert len(set(numbers)) == len(numbers) == 3
    assert Application.objects.count() == 3
