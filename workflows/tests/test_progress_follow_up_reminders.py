"""Follow-ups of poor ratings are never forgotten: the department's supervisors are reminded
once 2 working days before the follow-up is due and told once when it is overdue, in their
inbox and by e-mail; clerks and other departments hear nothing; a handled follow-up is left
alone; two sweeps at once still send each reminder once; weekends and holidays are counted as
the statutory clock counts them."""

import logging
from datetime import date, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from tests.support.concurrency import in_threads
from workflows import clock
from workflows.models import CalendarDay, Notification, Rating, RatingFollowUp
from workflows.progress.actions import follow_up_record, rating_follow_ups_remind, rating_submit
from workflows.progress.tasks import rating_follow_ups_remind_task
from workflows.tests.progress_support import ONE_STEP, decide, submit

# Date-sensitive: every test runs at each instant of `frozen_now` (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

FOLLOW_UP_DUE = Notification.Event.FOLLOW_UP_DUE
# The end of Tuesday 9 March 2027: two working days before it is the Friday before, across the weekend.
DUE = datetime(2027, 3, 10, 0, 0, tzinfo=timezone.get_current_timezone())


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2027, month, day, hour, 0, tzinfo=timezone.get_current_timezone())


@pytest.fixture
def department_admin(department_a):
    return MembershipFactory(
        user=UserFactory(username="admin.a", display_name="Department Admin A", is_staff=True),
        department=department_a,
        role=Role.DEPARTMENT_ADMIN,
    ).user


@pytest.fixture
def supervisor_b(department_b):
    return MembershipFactory(
        user=UserFactory(username="supervisor.b", display_name="Supervisor B", is_staff=True),
        department=department_b,
        role=Role.SUPERVISOR,
    ).user


@pytest.fixture
def staff(supervisor, department_admin, clerk_a, supervisor_b, clerk_b):
    """Everyone who works in a department: only the first two supervise department A."""
    return {"supervisors_a": {supervisor, department_admin}, "others": {clerk_a, supervisor_b, clerk_b}}


@pytest.fixture
def decided(alice, clerk_a, django_capture_on_commit_callbacks):
    application = submit(django_capture_on_commit_callbacks, applicant=alice, route=ONE_STEP)
    decide(django_capture_on_commit_callbacks, application, "licence", clerk_a)
    return application


@pytest.fixture
def follow_up(alice, decided) -> RatingFollowUp:
    """Alice rated department A's service 2 out of 5; the follow-up is due on Tuesday DUE."""
    rating = rating_submit(applicant=alice, application=decided, score=2, comment="Nobody answered the phone")
    RatingFollowUp.objects.filter(rating=rating).update(due_at=DUE)
    return RatingFollowUp.objects.get(rating=rating)


def reminders(user=None, *, overdue: bool | None = None):
    found = Notification.objects.filter(event=FOLLOW_UP_DUE)
    if user is not None:
        found = found.filter(user=user)
    if overdue is not None:
        found = found.filter(context__overdue=overdue)
    return found


def reminder_mail() -> list:
    """E-mails about follow-ups (the applicant's own mails about her application are left out)."""
    return [m for m in mail.outbox if "poor rating" in m.subject]


def sweep(capture, now: datetime):
    with capture(execute=True):
        return rating_follow_ups_remind(now=now)


def test_three_working_days_before_nothing_is_sent(staff, follow_up, django_capture_on_commit_callbacks):
    # On Thursday, Friday, Monday and Tuesday are left: three working days after today.
    assert clock.working_days_left(DUE, now=at(3, 4)) == 4
    result = sweep(django_capture_on_commit_callbacks, at(3, 4))
    assert (result.reminded, result.overdue) == (0, 0)
    assert not reminders().exists() and not reminder_mail()
    follow_up.refresh_from_db()
    assert follow_up.reminded_at is None


def test_two_working_days_before_each_supervisor_of_the_department_is_reminded_once(
    client, staff, supervisor, follow_up, django_capture_on_commit_callbacks, caplog
):
    with caplog.at_level(logging.INFO, logger="workflows.progress.actions"):
        result = sweep(django_capture_on_commit_callbacks, at(3, 5))  # Friday 10:00
    assert (result.reminded, result.overdue) == (1, 0)
    assert {n.user for n in reminders()} == staff["supervisors_a"]
    for outsider in staff["others"]:
        assert not reminders(outsider).exists()
    follow_up.refresh_from_db()
    assert follow_up.reminded_at is not None and follow_up.overdue_notified_at is None

    notice = reminders(supervisor).get()
    number = follow_up.rating.application.number
    assert notice.subject == f"A poor rating needs your follow-up by 9 March 2027: {number}"
    assert "rated application" in notice.body and "2 out of 5" in notice.body
    # Friday, Monday and Tuesday are left.
    assert "by 9 March 2027 (3 working days left)" in notice.body and "Market Regulation" in notice.body
    assert notice.link == reverse("workflows:progress-follow-up", args=[follow_up.pk])
    # By e-mail too, to the two supervisors only.
    assert sorted(m.to[0] for m in reminder_mail()) == sorted(u.email for u in staff["supervisors_a"])
    assert [line for line in caplog.messages if "reminder sent" in line] == [
        f"rating follow-up reminder sent follow_up={follow_up.pk} department=market kind=due supervisors=2"
    ]

    # The supervisor sees it in the inbox, opens it, and follows the link to the follow-up.
    client.force_login(supervisor)
    inbox = client.get(reverse("workflows:progress-inbox"))
    assert inbox.status_code == 200 and "A poor rating needs your follow-up by 9 March 2027" in inbox.content.decode()
    message = client.get(reverse("workflows:progress-message", args=[notice.pk]))
    assert message.status_code == 200 and notice.link in message.content.decode()
    assert "Open the follow-up" in message.content.decode()
    assert client.get(notice.link).status_code == 200

    # Later sweeps, the same day or the next, send nothing more.
    again = sweep(django_capture_on_commit_callbacks, at(3, 5, 16))
    later = sweep(django_capture_on_commit_callbacks, at(3, 8))
    assert (again.reminded, later.reminded) == (0, 0)
    assert reminders().count() == 2 and len(reminder_mail()) == 2


def test_an_outsider_cannot_open_the_follow_up_a_reminder_links_to(
    client, staff, follow_up, django_capture_on_commit_callbacks
):
    sweep(django_capture_on_commit_callbacks, at(3, 5))
    link = reminders().first().link
    for outsider in staff["others"]:
        client.force_login(outsider)
        assert client.get(link).status_code == 404


def test_an_overdue_follow_up_is_notified_once_and_tagged_on_the_dashboard(
    client, staff, supervisor, follow_up, django_capture_on_commit_callbacks, caplog
):
    due = timezone.now() - timedelta(hours=1)
    RatingFollowUp.objects.filter(pk=follow_up.pk).update(due_at=due)
    with caplog.at_level(logging.INFO, logger="workflows.progress.actions"):
        first = sweep(django_capture_on_commit_callbacks, timezone.now())
    second = sweep(django_capture_on_commit_callbacks, timezone.now() + timedelta(days=3))
    assert (first.overdue, second.overdue) == (1, 0)
    # Only the overdue notice: a "due soon" reminder after the due time would say nothing new.
    assert (first.reminded, second.reminded) == (0, 0)
    assert {n.user for n in reminders(overdue=True)} == staff["supervisors_a"]
    assert not reminders(overdue=False).exists()
    notice = reminders(supervisor).get()
    assert notice.subject == f"Overdue: the follow-up of a poor rating of {follow_up.rating.application.number}"
    assert "is overdue" in notice.body
    follow_up.refresh_from_db()
    assert follow_up.overdue_notified_at is not None
    assert f"follow_up={follow_up.pk} department=market kind=overdue" in caplog.text

    client.force_login(supervisor)
    board = client.get(reverse("workflows:progress-supervision")).content.decode()
    row = board[board.index('id="follow-ups"') :]
    assert follow_up.rating.application.number in row and "Overdue</strong>" in row
    page = client.get(reverse("workflows:progress-follow-up", args=[follow_up.pk])).content.decode()
    assert "Overdue</strong>" in page


def test_reminded_then_overdue_sends_one_of_each(staff, supervisor, follow_up, django_capture_on_commit_callbacks):
    sweep(django_capture_on_commit_callbacks, at(3, 5))
    sweep(django_capture_on_commit_callbacks, at(3, 9, 23))  # the due date's last hour
    sweep(django_capture_on_commit_callbacks, at(3, 10, 1))  # an hour after it ended
    sweep(django_capture_on_commit_callbacks, at(3, 10))
    assert reminders(supervisor, overdue=False).count() == 1
    assert reminders(supervisor, overdue=True).count() == 1
    assert reminders().count() == 4


def test_a_handled_follow_up_gets_no_reminder(staff, supervisor, follow_up, django_capture_on_commit_callbacks):
    follow_up_record(supervisor=supervisor, follow_up_id=follow_up.pk, outcome="We called Alice and apologised.")
    before = sweep(django_capture_on_commit_callbacks, at(3, 5))
    after = sweep(django_capture_on_commit_callbacks, at(3, 10))
    assert (before.reminded, after.overdue) == (0, 0)
    assert not reminders().exists()


def test_the_real_due_time_is_reminded_13_working_days_after_the_rating(
    staff, alice, decided, django_capture_on_commit_callbacks
):
    rating = rating_submit(applicant=alice, application=decided, score=1)
    minute = timedelta(minutes=1)
    three_before = clock.add_working_days(rating.created_at, 12) - minute  # the 12th working day, 23:59
    two_before = clock.add_working_days(rating.created_at, 13) - minute
    assert sweep(django_capture_on_commit_callbacks, three_before).reminded == 0
    assert sweep(django_capture_on_commit_callbacks, two_before).reminded == 1
    assert {n.user for n in reminders()} == staff["supervisors_a"]


def test_a_weekend_is_not_counted(staff, follow_up, django_capture_on_commit_callbacks):
    # Sunday noon is two calendar days before Tuesday, but Friday was already two working
    # days before: the reminder went out on Friday, not on Sunday.
    assert sweep(django_capture_on_commit_callbacks, at(3, 4, 23)).reminded == 0  # Thursday 23:00: 3 days after
    assert sweep(django_capture_on_commit_callbacks, at(3, 5, 0)).reminded == 1  # Friday 00:00
    assert sweep(django_capture_on_commit_callbacks, at(3, 7, 12)).reminded == 0
    assert reminders().count() == 2


def test_a_public_holiday_is_not_counted(staff, follow_up, django_capture_on_commit_callbacks):
    CalendarDay.objects.create(date=date(2027, 3, 8), kind=CalendarDay.Kind.HOLIDAY, name="Test holiday")
    # Monday is a holiday: on Thursday only Friday and Tuesday are left after today.
    assert sweep(django_capture_on_commit_callbacks, at(3, 3)).reminded == 0
    assert sweep(django_capture_on_commit_callbacks, at(3, 4)).reminded == 1
    notice = reminders().first()
    assert notice.context["days_left"] == 3  # Thursday, Friday, Tuesday


def test_a_department_without_supervisors_is_logged(
    decided, alice, clerk_a, django_capture_on_commit_callbacks, caplog
):
    rating = rating_submit(applicant=alice, application=decided, score=2)
    RatingFollowUp.objects.filter(rating=rating).update(due_at=DUE)
    with caplog.at_level(logging.INFO, logger="workflows.progress.actions"):
        assert sweep(django_capture_on_commit_callbacks, at(3, 5)).reminded == 1
    assert not reminders().exists()
    assert "reached nobody" in caplog.text


def test_the_beat_and_the_embedded_loop_run_the_sweep(staff, follow_up, django_capture_on_commit_callbacks):
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert rating_follow_ups_remind_task.name in schedule
    RatingFollowUp.objects.filter(pk=follow_up.pk).update(due_at=clock.add_working_days(timezone.now(), 1))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_periodic", "--once")  # the embedded mode's beat
    assert reminders().count() == 2
    assert rating_follow_ups_remind_task() == {"reminded": 0, "overdue": 0}


def test_a_reminder_is_in_the_supervisors_language(staff, supervisor, follow_up, django_capture_on_commit_callbacks):
    supervisor.preferred_language = "zh-hans"
    supervisor.save(update_fields=["preferred_language"])
    sweep(django_capture_on_commit_callbacks, at(3, 5))
    notice = reminders(supervisor).get()
    assert notice.subject.startswith("差评待回访：请于 2027年3月9日 前回访整改")
    assert "市场监督管理局" in notice.body


# --- Two sweeps at once, on real PostgreSQL ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_racing_send_each_reminder_once(staff, alice, decided, caplog):
    due_soon, overdue = [], []
    for index in range(8):
        rating = Rating.objects.create(
            application=decided, step_key=f"step-{index}", department=decided.service.lead_department,
            applicant=alice, score=1,
        )  # fmt: skip
        late = index % 2 == 1
        follow_up = RatingFollowUp.objects.create(
            rating=rating, department=rating.department, due_at=at(3, 3) if late else DUE
        )
        (overdue if late else due_soon).append(follow_up.pk)

    with caplog.at_level(logging.INFO, logger="workflows.progress.actions"):
        results = in_threads(2, lambda _i: rating_follow_ups_remind(now=at(3, 5)))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.reminded for r in results) == len(due_soon) == 4
    assert sum(r.overdue for r in results) == len(overdue) == 4
    for user in staff["supervisors_a"]:
        assert reminders(user, overdue=False).count() == 4
        assert reminders(user, overdue=True).count() == 4
    assert RatingFollowUp.objects.filter(pk__in=due_soon, reminded_at__isnull=False).count() == 4
    assert RatingFollowUp.objects.filter(pk__in=overdue, overdue_notified_at__isnull=False).count() == 4
    assert len([line for line in caplog.messages if "reminder sent" in line]) == 8
    # Each supervisor got one e-mail per reminder, not one per sweep.
    assert len(reminder_mail()) == 16
