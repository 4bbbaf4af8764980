"""Untouched drafts are deleted after DRAFT_PURGE_DAYS, with an e-mail reminder
DRAFT_REMINDER_DAYS before; anything the applicant does restarts the clock."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from documents.models import Document
from workflows.apply.actions import draft_save, draft_start, drafts_purge, group_submit
from workflows.apply.tasks import drafts_purge_task
from workflows.models import ApplicationGroup
from workflows.tests.test_apply_support import catalogue, fill_everything  # noqa: F401

# Date-sensitive: every test runs at each instant of `frozen_now` (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


@pytest.fixture(autouse=True)
def _days(settings):
    settings.DRAFT_PURGE_DAYS = 30
    settings.DRAFT_REMINDER_DAYS = 5


def _age(group, days: float) -> None:
    ApplicationGroup.objects.filter(pk=group.pk).update(updated_at=timezone.now() - datetime.timedelta(days=days))


def test_a_recent_draft_is_left_alone(alice, catalogue):  # noqa: F811
    draft_start(applicant=alice, service=catalogue.licence)
    assert drafts_purge().reminded == 0
    assert ApplicationGroup.objects.count() == 1 and mail.outbox == []


def test_a_reminder_is_e_mailed_once_before_the_purge(alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    _age(group, 26)

    assert drafts_purge().reminded == 1
    assert drafts_purge().reminded == 0  # never twice

    (message,) = mail.outbox
    assert message.to == ["alice@example.org"]
    assert "will be deleted" in message.subject
    assert "Business licence" in message.body
    assert f"/applications/{group.pk}/" in message.body
    group.refresh_from_db()
    assert group.purge_reminder_sent_at is not None
    assert ApplicationGroup.objects.filter(pk=group.pk).exists()


def test_an_untouched_draft_is_purged_after_the_reminder_period(alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    fill_everything(group, alice, catalogue)
    _age(group, 26)
    drafts_purge()
    _age(group, 31)
    ApplicationGroup.objects.filter(pk=group.pk).update(
        purge_reminder_sent_at=timezone.now() - datetime.timedelta(days=5, minutes=1)
    )

    assert drafts_purge_task() == {"reminded": 0, "purged": 1}

    assert not ApplicationGroup.objects.filter(pk=group.pk).exists()
    assert Document.objects.filter(owner=alice).count() == 2  # the vault keeps its documents


def test_a_draft_never_reminded_is_not_purged_without_warning(alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    _age(group, 60)
    result = drafts_purge()
    assert (result.reminded, result.purged) == (1, 0)
    assert "will be deleted on" in mail.outbox[0].body
    assert ApplicationGroup.objects.filter(pk=group.pk).exists()


def test_working_on_a_reminded_draft_keeps_it(alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    _age(group, 26)
    drafts_purge()
    draft_save(applicant=alice, group_id=group.pk, values={"business.name": "Still here"})
    group.refresh_from_db()
    assert group.purge_reminder_sent_at is None
    ApplicationGroup.objects.filter(pk=group.pk).update(
        purge_reminder_sent_at=timezone.now() - datetime.timedelta(days=6)
    )
    assert drafts_purge().purged == 0
    assert ApplicationGroup.objects.filter(pk=group.pk).exists()


def test_submitted_applications_are_never_purged(alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    fill_everything(group, alice, catalogue)
    group_submit(applicant=alice, group_id=group.pk, idempotency_key="k")
    _age(group, 400)
    assert (drafts_purge().reminded, drafts_purge().purged) == (0, 0)
    assert mail.outbox == []
