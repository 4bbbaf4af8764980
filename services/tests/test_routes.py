"""Publish validation of routes: one test per kind of bad route, each message names the step."""

import pytest

from services.routes import RouteStep, parse_route, route_problems, step_depths

pytestmark = pytest.mark.django_db


def steps(*step_list):
    return {"steps": list(step_list)}


def review(key, department="market", **more):
    return {"key": key, "department": department, "kind": "review", **more}


def test_the_good_route_has_no_problems(make_draft):
    assert route_problems(make_draft()) == []


def test_parse_route_gives_frozen_steps_in_written_order():
    parsed = parse_route(steps(review("a"), review("b", after=["a"], sla_days=5, on_reject="continue")))
    assert parsed[1] == RouteStep(
        key="b", department="market", kind="review", after=("a",), sla_days=5, on_reject="continue"
    )
    with pytest.raises(AttributeError):
        parsed[0].key = "changed"  # type: ignore[misc]
    assert step_depths(parsed) == {"a": 0, "b": 1}


def test_a_cycle_is_refused(make_draft):
    version = make_draft(
        steps(review("a", after=["c"]), review("b", after=["a"]), review("c", after=["b"]), review("start"))
    )
    problems = route_problems(version)
    assert any("goes round in a circle" in p and "a → b → c → a" in p for p in problems), problems


def test_a_step_waiting_for_itself_is_refused(make_draft):
    assert "Step “a” waits for itself." in route_problems(make_draft(steps(review("a", after=["a"]), review("b"))))


def test_an_unknown_department_is_refused(make_draft):
    problems = route_problems(make_draft(steps(review("check", department="space-agency"))))
    assert problems == ["Step “check”: there is no department with the code “space-agency”."]


def test_transfer_to_names_known_departments_on_review_steps_only(make_draft):
    problems = route_problems(make_draft(steps(review("check", transfer_to=["space-agency"]))))
    assert problems == ["Step “check”: “transfer_to” names “space-agency”, but there is no such department."]
    issue = {"key": "issue", "department": "market", "kind": "issue", "document_type": "business-licence"}
    problems = route_problems(make_draft(steps({**issue, "transfer_to": ["market"]})))
    assert "Step “issue”: only a review step can be transferred (“transfer_to”)." in problems
    problems = route_problems(make_draft(steps(review("check", transfer_to={"fire": True}))))
    assert problems == ["Step “check”: “transfer_to” must be a list of department codes."]
    assert parse_route(steps(review("check", transfer_to="market")))[0].transfer_to == ("market",)


def test_an_unknown_after_is_refused(make_draft):
    problems = route_problems(make_draft(steps(review("check"), review("decide", after=["chekc"]))))
    assert "Step “decide” comes after “chekc”, but the route has no step with that key." in problems


def test_an_unregistered_handler_is_refused(make_draft):
    route = steps({"key": "auto", "department": "tax", "kind": "automatic", "handler": "tax.teleport"})
    assert route_problems(make_draft(route)) == [
        "Step “auto”: the handler “tax.teleport” is not registered (no department code runs it)."
    ]


def test_an_automatic_step_without_handler_is_refused(make_draft):
    route = steps({"key": "auto", "department": "tax", "kind": "automatic"})
    assert route_problems(make_draft(route)) == ["Step “auto” is automatic but names no handler."]


def test_a_registered_handler_of_its_own_department_is_accepted(make_draft):
    route = steps({"key": "auto", "department": "tax", "kind": "automatic", "handler": "tax.register"})
    assert route_problems(make_draft(route)) == []
    wrong_department = steps({"key": "auto", "department": "market", "kind": "automatic", "handler": "tax.register"})
    assert "belongs to department “tax”" in route_problems(make_draft(wrong_department))[0]


def test_a_condition_on_an_element_missing_from_the_form_is_refused(make_draft):
    route = steps(review("check"), review("fire", after=["check"], when={"element": "business.height_m", "gt": 30}))
    assert route_problems(make_draft(route)) == [
        "Step “fire”: condition names “business.height_m”, which is not a field on the form."
    ]


def test_an_incompatible_operator_is_refused(make_draft):
    route = steps(review("check", when={"element": "business.has_employees", "gt": 3}))
    assert route_problems(make_draft(route)) == [
        "Step “check”: condition on “business.has_employees” uses “gt”, which does not apply to a boolean element."
    ]


def test_an_incompatible_value_is_refused(make_draft):
    route = steps(review("check", when={"element": "business.floor_area_m2", "gt": "big"}))
    assert route_problems(make_draft(route)) == [
        "Step “check”: condition on “business.floor_area_m2”: “big” is not a number."
    ]


def test_an_issue_step_without_document_type_is_refused(make_draft):
    route = steps(review("check"), {"key": "issue", "department": "market", "kind": "issue", "after": ["check"]})
    assert route_problems(make_draft(route)) == ["Step “issue” issues a document but names no document type."]


def test_an_issue_step_with_an_unknown_document_type_is_refused(make_draft):
    route = steps({"key": "issue", "department": "market", "kind": "issue", "document_type": "unicorn-licence"})
    assert route_problems(make_draft(route)) == [
        "Step “issue”: there is no document type with the code “unicorn-licence”."
    ]


def test_an_unreachable_step_is_refused(make_draft):
    # "d" is not in the cycle but waits for it, so it can never start.
    route = steps(
        review("start"), review("b", after=["c"]), review("c", after=["b"]), review("d", after=["b", "start"])
    )
    problems = route_problems(make_draft(route))
    assert "Step “d” can never start: it waits for steps that never finish." in problems


def test_a_route_where_no_step_can_start_is_refused(make_draft):
    problems = route_problems(make_draft(steps(review("a", after=["b"]), review("b", after=["a"]))))
    assert "No step can start: every step waits for another one." in problems


def test_an_appointment_step_is_a_kind_of_its_own(make_draft):
    route = steps(
        review("check"), {"key": "inspect", "department": "market", "kind": "appointment", "after": ["check"]}
    )
    assert route_problems(make_draft(route)) == []


def test_duplicate_keys_are_refused(make_draft):
    problems = route_problems(make_draft(steps(review("check"), review("check", department="fire"))))
    assert problems == ["Two steps have the key “check”: each step needs its own key."]


def test_an_unknown_kind_and_a_malformed_route_are_refused(make_draft):
    assert route_problems(make_draft(steps({"key": "wait", "department": "market", "kind": "wait"}))) == [
        "Step “wait”: the kind “wait” is not one of review, automatic, issue, appointment, payment."
    ]
    assert route_problems(make_draft({"steps": "check"})) == ["The route must be an object with a list of “steps”."]
    assert route_problems(make_draft({})) == ["The route has no steps: add at least one department step."]


def test_every_problem_is_reported_at_once(make_draft):
    route = steps(
        review("check", department="nowhere"),
        {"key": "issue", "department": "market", "kind": "issue", "after": ["nope"]},
    )
    assert len(route_problems(make_draft(route))) == 3
