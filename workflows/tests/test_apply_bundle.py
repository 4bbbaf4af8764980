"""A life event is one merged form: each data element asked once, each shared material once,
and one submission creates one application per service, each pinned to its version."""

import re

import pytest
from django.urls import reverse

from workflows.apply.actions import draft_start, group_submit
from workflows.apply.selectors import group_for_user, group_form
from workflows.models import Application
from workflows.tests.test_apply_support import catalogue, fill_everything  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_merged_form_asks_each_element_once(alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, life_event=catalogue.restaurant)
    form = group_form(group)

    keys = [spec.key for spec in form.fields]
    assert len(keys) == len(set(keys)) == 10
    # The three services ask 7 + 3 + 6 = 16 questions between them.
    assert form.separate_field_count == 16
    assert [section.title for section in form.sections] == ["About you", "Your business", "Staff"]
    # Full name is asked by all three services, in the first service's section.
    assert {s.code for s in form.field("person.full_name").services} == {
        "business-licence", "fire-safety-check", "tax-registration",
    }  # fmt: skip
    # The lease is needed by two services and the ID card by two: each asked once. The
    # business licence the tax office needs is issued by the bundle's first service: not asked.
    assert [m.code for m in form.materials] == ["id-card-copy", "lease", "floor-plan", "business-licence"]
    assert [m.code for m in form.asked_materials] == ["id-card-copy", "lease", "floor-plan"]
    assert form.separate_material_count == 6


def test_the_merged_form_page_shows_each_question_once(client, alice, catalogue):  # noqa: F811
    client.force_login(alice)
    response = client.post(reverse("workflows:apply-start-life-event", args=["open-a-restaurant"]))
    group = alice.application_groups.get()
    assert response.status_code == 302
    page = client.get(reverse("workflows:apply-section", args=[group.pk, 1])).content.decode()
    assert page.count('name="person__full_name"') == 1
    page = client.get(reverse("workflows:apply-section", args=[group.pk, 2])).content.decode()
    assert page.count('name="business__name"') == 1


def test_a_conditional_material_is_asked_only_when_its_condition_holds(alice, catalogue):  # noqa: F811
    form = group_form(draft_start(applicant=alice, life_event=catalogue.restaurant))
    small, large = {"business.floor_area_m2": "120"}, {"business.floor_area_m2": "450"}
    assert [m.code for m in form.shown_materials(small)] == ["id-card-copy", "lease"]
    assert [m.code for m in form.shown_materials(large)] == ["id-card-copy", "lease", "floor-plan"]


def test_one_submission_creates_one_application_per_service(alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, life_event=catalogue.restaurant)
    fill_everything(group, alice, catalogue)

    submitted = group_submit(applicant=alice, group_id=group.pk, idempotency_key="k-1").group

    applications = list(submitted.applications.order_by("pk"))
    assert [a.service.code for a in applications] == ["business-licence", "fire-safety-check", "tax-registration"]
    assert all(a.status == Application.Status.SUBMITTED for a in applications)
    assert all(a.service_version == catalogue.version(a.service) for a in applications)
    assert [a.number[5:8] for a in applications] == ["MKT", "FIR", "TAX"]
    assert all(re.fullmatch(r"\d{4}-[A-Z]{3}-\d{6}", a.number) for a in applications)
    assert submitted.number.split("-")[1] == "EVT"
    # Each department receives only what its own form asks.
    fire = applications[1]
    assert set(fire.data) == {"person.full_name", "business.name", "business.floor_area_m2"}
    assert applications[0].data["business.floor_area_m2"] == "120"
    assert all(a.statutory_due_at > a.submitted_at for a in applications)
    # The submission is the first event of each application's timeline (actor: Alice).
    for application in applications:
        (event,) = application.events.all()
        assert (event.kind, event.from_status, event.to_status, event.actor) == (
            "application_submitted", "draft", "submitted", alice,
        )  # fmt: skip


def test_a_single_service_draft_creates_one_application(alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    fill_everything(group, alice, catalogue)
    submitted = group_submit(applicant=alice, group_id=group.pk, idempotency_key="k-2").group
    (application,) = submitted.applications.all()
    assert submitted.number == application.number
    assert group_for_user(user=alice, group_id=group.pk).submitted_at is not None
