"""Ratings (好差评): after a decision only, once, by the applicant only; 1 or 2 opens a
follow-up due in 15 working days in that department's supervisor queue; the applicant sees
the outcome."""

import pytest
from django.urls import reverse

from workflows import clock
from workflows.models import Notification, Rating, RatingFollowUp
from workflows.progress.actions import RatingRefused, rating_submit
from workflows.tests.progress_support import ONE_STEP, TWO_DEPARTMENTS, decide, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(alice, django_capture_on_commit_callbacks):
    return submit(django_capture_on_commit_callbacks, applicant=alice, route=ONE_STEP)


@pytest.fixture
def decided(application, clerk_a, django_capture_on_commit_callbacks):
    decide(django_capture_on_commit_callbacks, application, "licence", clerk_a)
    return application


def rate_url(application, step_key=""):
    if step_key:
        return reverse("workflows:progress-rate-step", args=[application.number, step_key])
    return reverse("workflows:progress-rate", args=[application.number])


def test_it_refuses_a_rating_before_the_decision(client, alice, application):
    client.force_login(alice)
    response = client.post(rate_url(application), {"score": "5"})
    assert response.status_code == 400
    assert "once a decision has been made" in response.content.decode()
    assert not Rating.objects.exists()


def test_low_rating_opens_a_follow_up_due_in_15_working_days(client, alice, supervisor, decided, department_a):
    client.force_login(alice)
    response = client.post(rate_url(decided), {"score": "2", "comment": "Slow and unclear"})
    assert response.status_code == 302
    rating = Rating.objects.get(application=decided)
    assert (rating.score, rating.comment, rating.department) == (2, "Slow and unclear", department_a)
    follow_up = RatingFollowUp.objects.get(rating=rating)
    assert follow_up.department == department_a and follow_up.status == RatingFollowUp.Status.OPEN
    assert follow_up.due_at == clock.add_working_days(rating.created_at, 15)
    assert clock.working_days_between(rating.created_at, follow_up.due_at) == 15
    page = client.get(reverse("workflows:progress-application", args=[decided.number])).content.decode()
    assert "You rated the service 2 out of 5." in page and "will follow up your rating by" in page
    # In the department supervisor's queue on the dashboard.
    client.force_login(supervisor)
    board = client.get(reverse("workflows:progress-supervision")).content.decode()
    assert reverse("workflows:progress-follow-up", args=[follow_up.pk]) in board


def test_the_supervisor_records_the_follow_up_and_the_applicant_sees_it(
    client, alice, supervisor, clerk_b, decided, django_capture_on_commit_callbacks
):
    rating = rating_submit(applicant=alice, application=decided, score=1, comment="Rude")
    follow_up = rating.follow_up
    url = reverse("workflows:progress-follow-up", args=[follow_up.pk])
    # Another department's staff: 404, nothing changes.
    client.force_login(clerk_b)
    assert client.get(url).status_code == 404
    assert client.post(url, {"outcome": "x"}).status_code == 404
    client.force_login(supervisor)
    response = client.post(url, {"outcome": ""})
    assert response.status_code == 400 and "Write what was done" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"outcome": "We called Ms Wang and retrained the counter."}).status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.status == RatingFollowUp.Status.DONE and follow_up.handled_by == supervisor
    assert Notification.objects.filter(user=alice, event=Notification.Event.FOLLOW_UP_OUTCOME).count() == 1
    client.force_login(alice)
    page = client.get(reverse("workflows:progress-application", args=[decided.number])).content.decode()
    assert "We called Ms Wang and retrained the counter." in page


def test_a_good_rating_opens_no_follow_up(alice, decided):
    rating_submit(applicant=alice, application=decided, score=4)
    assert not RatingFollowUp.objects.exists()


def test_it_refuses_a_second_rating(client, alice, decided):
    rating_submit(applicant=alice, application=decided, score=5)
    with pytest.raises(RatingRefused):
        rating_submit(applicant=alice, application=decided, score=1)
    client.force_login(alice)
    response = client.post(rate_url(decided), {"score": "1"})
    assert response.status_code == 400 and "already rated" in response.content.decode()
    assert Rating.objects.get().score == 5


def test_bob_cannot_rate_alices_application(client, bob, decided):
    client.force_login(bob)
    assert client.get(rate_url(decided)).status_code == 404
    assert client.post(rate_url(decided), {"score": "1"}).status_code == 404
    response = client.post("/api/ratings/", {"application": decided.number, "score": 1})
    assert response.status_code == 404
    assert not Rating.objects.exists()


def test_bad_score_is_explained_and_comment_kept(client, alice, decided):
    client.force_login(alice)
    response = client.post(rate_url(decided), {"score": "9", "comment": "kept text"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page and "kept text" in page


def test_each_department_step_of_a_multi_department_route_is_rated_separately(
    client, alice, clerk_a, clerk_b, department_b, django_capture_on_commit_callbacks
):
    application = submit(django_capture_on_commit_callbacks, applicant=alice, route=TWO_DEPARTMENTS)
    decide(django_capture_on_commit_callbacks, application, "licence", clerk_a)
    decide(django_capture_on_commit_callbacks, application, "fire", clerk_b)
    client.force_login(alice)
    page = client.get(reverse("workflows:progress-application", args=[application.number])).content.decode()
    assert rate_url(application, "fire") in page and rate_url(application, "licence") in page
    assert client.post(rate_url(application, "fire"), {"score": "1"}).status_code == 302
    rating = Rating.objects.get(application=application, step_key="fire")
    assert rating.department == department_b and rating.follow_up.department == department_b
    assert client.get(rate_url(application, "nonexistent")).status_code == 404
