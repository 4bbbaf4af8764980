"""The route builder's server side: each publish problem tied to its step, the live preview
(problems and diagram) for the people who may edit the version and nobody else, and a draft
saved with problems staying on its page."""

import json

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from services.actions import service_grant_change, version_publish
from services.routes import check_route, check_route_steps
from services.tests.conftest import GOOD_ROUTE

pytestmark = pytest.mark.django_db

PREVIEW = "admin:services_serviceversion_route_preview"
KINDS = {"business.floor_area_m2": "decimal"}


def test_each_problem_names_the_step_and_its_place(departments):
    route = {
        "steps": [
            {"key": "check", "department": "market", "kind": "review"},
            {"key": "check", "department": "market", "kind": "review"},
            {"key": "fire", "department": "nowhere", "kind": "review", "after": ["check"]},
            {"key": "auto", "department": "tax", "kind": "automatic", "after": ["check"]},
        ]
    }
    problems = {
        (problem.position, problem.step, problem.message) for problem in check_route_steps(route, element_kinds=KINDS)
    }
    assert (1, "check", "Two steps have the key “check”: each step needs its own key.") in problems
    assert (2, "fire", "Step “fire”: there is no department with the code “nowhere”.") in problems
    assert (3, "auto", "Step “auto” is automatic but names no handler.") in problems


def test_a_circle_is_told_at_each_of_its_steps_and_once_in_the_list(departments):
    route = {
        "steps": [
            {"key": "start", "department": "market", "kind": "review"},
            {"key": "a", "department": "market", "kind": "review", "after": ["start", "b"]},
            {"key": "b", "department": "market", "kind": "review", "after": ["a"]},
        ]
    }
    steps = [problem for problem in check_route_steps(route, element_kinds={}) if "circle" in problem.message]
    assert {(problem.step, problem.position) for problem in steps} == {("a", 1), ("b", 2)}
    assert sum("circle" in message for message in check_route(route, element_kinds={})) == 1


def test_a_route_level_problem_names_no_step(departments):
    route = {"steps": [{"key": "a", "department": "market", "kind": "review", "after": ["a"]}]}
    general = [problem for problem in check_route_steps(route, element_kinds={}) if problem.step is None]
    assert [problem.message for problem in general] == ["No step can start: every step waits for another one."]


def test_the_preview_checks_and_draws_the_route_being_edited(client, administrator, make_draft):
    draft = make_draft()
    client.force_login(administrator)
    route = json.loads(json.dumps(GOOD_ROUTE))
    route["steps"][2]["when"] = {"element": "business.nowhere", "gt": 1}
    response = client.post(reverse(PREVIEW), {"route": json.dumps(route), "version": draft.pk})
    answer = response.json()
    assert answer["problems"] == [
        {
            "message": "Step “fire”: condition names “business.nowhere”, which is not a field on the form.",
            "step": "fire",
            "position": 2,
        }
    ]
    assert 'role="img"' in answer["diagram"] and "Fire and Rescue" in answer["diagram"]
    draft.refresh_from_db()
    assert draft.route == GOOD_ROUTE  # nothing is saved

    broken = client.post(reverse(PREVIEW), {"route": "{not json", "version": draft.pk}).json()
    assert broken["problems"][0]["message"] == "The route is not valid JSON."
    assert client.get(reverse(PREVIEW)).status_code == 404


def test_only_those_who_may_edit_the_version_preview_it(client, administrator, departments, make_draft):
    draft = make_draft()
    other = make_draft()
    fire_admin = UserFactory(username="fire.admin", is_staff=True)
    MembershipFactory(user=fire_admin, department=departments["fire"], role=Role.DEPARTMENT_ADMIN)
    service_grant_change(service=other.service, user=fire_admin, actor=administrator)
    body = {"route": json.dumps(GOOD_ROUTE), "version": draft.pk}

    client.force_login(fire_admin)  # may edit another service, not this one
    assert client.post(reverse(PREVIEW), body).status_code == 404
    assert client.post(reverse(PREVIEW), {**body, "version": other.pk}).status_code == 200

    clerk = UserFactory(username="clerk.market", is_staff=True)
    MembershipFactory(user=clerk, department=departments["market"], role=Role.CLERK)
    client.force_login(clerk)
    assert client.post(reverse(PREVIEW), body).status_code in (403, 404)

    citizen = UserFactory(username="citizen")
    client.force_login(citizen)
    response = client.post(reverse(PREVIEW), body)
    assert response.status_code == 302 and "/login/" in response.url


def test_the_change_page_carries_the_builder_and_the_json(client, administrator, make_draft):
    draft = make_draft({"steps": [{"key": "check", "department": "nowhere", "kind": "review"}]})
    client.force_login(administrator)
    page = client.get(reverse("admin:services_serviceversion_change", args=[draft.pk])).content.decode()
    assert "Advanced: edit as JSON" in page
    assert 'data-od-builder="route"' in page and 'data-od-builder="eligibility"' in page
    assert "js/route_builder.js" in page
    assert "business.floor_area_m2" in page  # an element of the form, offered to conditions
    assert "there is no department with the code \\u201cnowhere\\u201d" in page  # next to its step
    assert ">null<" not in page and ">\nnull<" not in page


def test_a_published_version_has_no_builder(client, administrator, make_draft):
    version = version_publish(version=make_draft(), actor=administrator)
    client.force_login(administrator)
    page = client.get(reverse("admin:services_serviceversion_change", args=[version.pk])).content.decode()
    assert "data-od-builder" not in page and 'role="img"' in page


def test_a_draft_saved_with_problems_stays_on_its_page(client, administrator, make_draft):
    draft = make_draft()
    client.force_login(administrator)
    url = reverse("admin:services_serviceversion_change", args=[draft.pk])
    form = {
        "time_limit_days": "20",
        "minimum_assurance": draft.minimum_assurance,
        "eligibility": "[]",
        "rejection_reasons": "[]",
        "fields-TOTAL_FORMS": "0",
        "fields-INITIAL_FORMS": "0",
        "materials-TOTAL_FORMS": "0",
        "materials-INITIAL_FORMS": "0",
        "fees-TOTAL_FORMS": "0",
        "fees-INITIAL_FORMS": "0",
    }
    bad = {"steps": [{"key": "check", "department": "market", "kind": "automatic"}]}
    response = client.post(url, {**form, "route": json.dumps(bad), "_save": "Save"})
    assert response.status_code == 302 and response.url == url
    page = client.get(url).content.decode()
    assert "The route has problems that stop it from being published" in page
    draft.refresh_from_db()
    assert draft.route == bad

    good = {"steps": [{"key": "check", "department": "market", "kind": "review"}]}
    response = client.post(url, {**form, "route": json.dumps(good), "_save": "Save"})
    assert response.status_code == 302 and response.url == reverse("admin:services_serviceversion_changelist")


def test_every_kind_of_step_has_a_name_in_the_builder():
    from services.admin.route_builder import _kind_labels
    from services.routes import KINDS

    assert set(_kind_labels()) == set(KINDS)


def test_the_preview_tells_a_step_that_needs_what_the_form_does_not_ask(client, administrator, make_draft):
    draft = make_draft()
    client.force_login(administrator)
    route = json.loads(json.dumps(GOOD_ROUTE))
    route["steps"][2]["needs"] = {"elements": ["business.floor_area_m2", "business.colour"], "documents": []}
    answer = client.post(reverse(PREVIEW), {"route": json.dumps(route), "version": draft.pk}).json()
    assert answer["problems"] == [
        {
            "message": "Step “fire” needs the data element “business.colour”, but this version's form does not ask "
            "it; add it to the form or remove it from “needs”.",
            "step": "fire",
            "position": 2,
        }
    ]
    route["steps"][2]["needs"] = {"elements": ["business.floor_area_m2"]}
    assert client.post(reverse(PREVIEW), {"route": json.dumps(route), "version": draft.pk}).json()["problems"] == []


def test_a_draft_whose_step_needs_an_unknown_element_is_not_published(administrator, make_draft):
    from services.validation import version_problems

    route = json.loads(json.dumps(GOOD_ROUTE))
    route["steps"][2]["needs"] = {"elements": ["business.colour"], "documents": ["passport"]}
    problems = version_problems(make_draft(route))
    assert any("needs the data element “business.colour”" in problem for problem in problems)
    assert any("needs the document “passport”" in problem for problem in problems)
