"""Handler options in a route are checked at publish against what the handler declares.

A typo in an option name or a value of the wrong type would otherwise be ignored, or fail,
only when an application reaches the step; publish refuses them with the step and handler named.
"""

import pytest
from django.utils import translation

from services import registry
from services.actions import PublishRefused, version_publish
from services.models import ServiceVersion
from services.routes import parse_route, route_problems

pytestmark = pytest.mark.django_db


def automatic(handler="tax.register", department="tax", **more):
    return {"steps": [{"key": "auto", "department": department, "kind": "automatic", "handler": handler, **more}]}


@pytest.fixture
def counting_handlers(monkeypatch):
    """Two handlers of the tax department: one with a whole-number and a number option, one
    with none. Registered for this test only."""
    monkeypatch.setattr(registry, "_handlers", dict(registry.all_handlers()))

    @registry.register("tax.count", department="tax", options={"copies": int, "ratio": float})
    def count(*, application, work_item, options):
        return {}

    @registry.register("tax.ping", department="tax")
    def ping(*, application, work_item, options):
        return {}


def test_a_step_with_the_options_its_handler_declares_publishes(make_draft, administrator):
    version = version_publish(version=make_draft(automatic(options={"prefix": "TX"})), actor=administrator)
    assert version.status == ServiceVersion.Status.PUBLISHED
    assert parse_route(version.route)[0].options == {"prefix": "TX"}
    identity = automatic("psb.verify_identity", "psb", options={"check_name": False})
    assert version_publish(version=make_draft(identity), actor=administrator).status == ServiceVersion.Status.PUBLISHED


def test_whole_numbers_and_numbers_of_the_declared_type_are_accepted(make_draft, counting_handlers):
    assert route_problems(make_draft(automatic("tax.count", options={"copies": 3, "ratio": 0.5}))) == []
    # JSON writes 2.0 as 2: a number option takes a whole number.
    assert route_problems(make_draft(automatic("tax.count", options={"copies": 3, "ratio": 2}))) == []


def test_a_step_without_options_or_with_empty_options_publishes(make_draft):
    assert route_problems(make_draft(automatic())) == []
    assert route_problems(make_draft(automatic(options={}))) == []
    assert parse_route(automatic())[0].options == {}


def test_options_on_a_step_that_is_not_automatic_are_refused(make_draft):
    route = {"steps": [{"key": "check", "department": "market", "kind": "review", "options": {"prefix": "TX"}}]}
    assert route_problems(make_draft(route)) == [
        "Step “check”: only an automatic step takes handler options (“options”)."
    ]


def test_options_that_are_not_an_object_are_refused(make_draft):
    for not_an_object in (["prefix", "TX"], "TX", 5, True):
        assert route_problems(make_draft(automatic(options=not_an_object))) == [
            "Step “auto”: “options” must be an object of option names and values."
        ], not_an_object


def test_options_that_are_not_an_object_do_not_stop_the_engine_reading_a_published_route():
    # Versions published before options were checked may hold them; the engine and the pages
    # still read such a route.
    assert parse_route(automatic(options="TX"))[0].options == {}


def test_an_option_the_handler_does_not_declare_is_refused_naming_those_it_accepts(make_draft, counting_handlers):
    assert route_problems(make_draft(automatic(options={"prefx": "TX"}))) == [
        "Step “auto”: the handler “tax.register” has no option “prefx”; it accepts “prefix”."
    ]
    assert route_problems(make_draft(automatic("tax.count", options={"copies": 1, "pages": 2}))) == [
        "Step “auto”: the handler “tax.count” has no option “pages”; it accepts “copies”, “ratio”."
    ]


def test_any_option_is_refused_for_a_handler_that_declares_none(make_draft, counting_handlers):
    assert route_problems(make_draft(automatic("tax.ping", options={"prefix": "TX"}))) == [
        "Step “auto”: the handler “tax.ping” takes no options, but “prefix” is given."
    ]


def test_a_true_or_false_option_refuses_anything_else(make_draft):
    for not_a_boolean in (1, 0, "true", None):
        route = automatic("psb.verify_identity", "psb", options={"check_name": not_a_boolean})
        assert route_problems(make_draft(route)) == [
            "Step “auto”: the option “check_name” of the handler “psb.verify_identity” must be true or false."
        ], not_a_boolean


def test_a_whole_number_option_refuses_true_false_fractions_and_text(make_draft, counting_handlers):
    # true and false are Python ints too; they must not pass as 1 and 0.
    for not_a_whole_number in (True, False, 1.5, "3"):
        assert route_problems(make_draft(automatic("tax.count", options={"copies": not_a_whole_number}))) == [
            "Step “auto”: the option “copies” of the handler “tax.count” must be a whole number."
        ], not_a_whole_number


def test_a_number_option_refuses_true_false_and_text(make_draft, counting_handlers):
    for not_a_number in (True, "0.5"):
        assert route_problems(make_draft(automatic("tax.count", options={"ratio": not_a_number}))) == [
            "Step “auto”: the option “ratio” of the handler “tax.count” must be a number."
        ], not_a_number


def test_a_text_option_refuses_numbers_and_true_false(make_draft):
    for not_text in (7, 7.5, False, ["TX"]):
        assert route_problems(make_draft(automatic(options={"prefix": not_text}))) == [
            "Step “auto”: the option “prefix” of the handler “tax.register” must be text."
        ], not_text


def test_options_of_an_unregistered_handler_are_not_checked_twice(make_draft):
    assert route_problems(make_draft(automatic("tax.teleport", options={"anything": 1}))) == [
        "Step “auto”: the handler “tax.teleport” is not registered (no department code runs it)."
    ]


def test_publish_refuses_every_option_problem_at_once_and_publishes_nothing(make_draft, administrator):
    route = {
        "steps": [
            {"key": "identity", "department": "psb", "kind": "automatic", "handler": "psb.verify_identity",
             "options": {"check_name": 1, "strict": True}},
            {"key": "check", "department": "market", "kind": "review", "after": ["identity"],
             "options": {"check_name": True}},
        ]
    }  # fmt: skip
    version = make_draft(route)
    with pytest.raises(PublishRefused) as refused:
        version_publish(version=version, actor=administrator)
    assert refused.value.messages == [
        "Step “identity”: the option “check_name” of the handler “psb.verify_identity” must be true or false.",
        "Step “identity”: the handler “psb.verify_identity” has no option “strict”; it accepts “check_name”.",
        "Step “check”: only an automatic step takes handler options (“options”).",
    ]
    version.refresh_from_db()
    assert version.status == ServiceVersion.Status.DRAFT


def test_the_refusals_are_in_chinese_for_a_chinese_administrator(make_draft):
    version = make_draft(automatic(options={"prefx": 5}))
    with translation.override("zh-hans"):
        problems = route_problems(version)
    assert len(problems) == 1
    assert "tax.register" in problems[0] and "prefx" in problems[0] and "“prefix”" in problems[0]
    assert "has no option" not in problems[0] and "环节" in problems[0]
