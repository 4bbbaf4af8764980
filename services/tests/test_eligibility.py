"""Check before you apply: the questions the rules ask, and exactly which rule fails and why."""

import pytest

from accounts.models import VerifiedAttribute
from services.eligibility import judge
from services.selectors import current_version, life_event_by_code, life_event_versions, service_by_code

pytestmark = pytest.mark.django_db


def test_judge_names_each_failing_rule(catalogue):
    version = current_version(service_by_code("maternity-allowance"))
    [verdict] = judge([version], {"person.employed": True, "person.social_insurance_months": 3})
    assert not verdict.eligible
    assert [failed.reason for failed in verdict.failed] == [
        "You need at least 12 months of maternity insurance contributions before the birth."
    ]
    [verdict] = judge([version], {"person.employed": True, "person.social_insurance_months": 12})
    assert verdict.eligible


def test_the_eligibility_page_asks_the_questions_the_rules_use(client, catalogue):
    page = client.get("/services/food-business-permit/eligibility/").content.decode()
    assert "Floor area of the premises (m²)" in page
    assert "Kind of food business" in page
    assert "Business name" not in page  # on the form, but no rule uses it


def test_you_can_apply(client, catalogue):
    response = client.get(
        "/services/food-business-permit/eligibility/", {"business.floor_area_m2": "120", "business.cuisine": "chinese"}
    )
    page = response.content.decode()
    assert "You can apply" in page
    assert "You cannot apply" not in page


def test_exactly_which_rule_fails_and_why(client, catalogue):
    page = client.get(
        "/services/food-business-permit/eligibility/", {"business.floor_area_m2": "6", "business.cuisine": "chinese"}
    ).content.decode()
    assert "You cannot apply yet" in page
    assert "Premises that serve food must have at least 10 m² of floor area." in page
    assert "Floor area of the premises (m²) is at least 10" in page
    assert "Tell us what kind of food business" not in page  # that rule holds


def test_bad_answers_are_shown_next_to_the_field_and_kept(client, catalogue):
    page = client.get(
        "/services/food-business-permit/eligibility/", {"business.floor_area_m2": "big", "business.cuisine": ""}
    ).content.decode()
    assert "There is a problem" in page
    assert "Enter a number, like 120.5." in page
    assert "Select one of the options." in page
    assert 'value="big"' in page
    assert "You can apply" not in page


def test_the_eligibility_page_in_chinese(client, catalogue):
    client.cookies["django_language"] = "zh-hans"
    page = client.get(
        "/services/food-business-permit/eligibility/", {"business.floor_area_m2": "6", "business.cuisine": "chinese"}
    ).content.decode()
    assert "餐饮服务经营场所面积不得少于10平方米。" in page


def test_a_life_event_check_covers_every_service(client, catalogue):
    versions = life_event_versions(life_event_by_code("have-a-baby"))
    assert len(versions) == 4
    page = client.get(
        "/life-events/have-a-baby/eligibility/",
        {
            "baby.born_in_hospital": "yes",
            "household.is_local": "no",
            "person.employed": "yes",
            "person.social_insurance_months": "24",
        },
    ).content.decode()
    assert "Register a newborn&#x27;s household registration: you cannot apply" in page
    assert "the mother or the father holds a household registration in this city" in page
    assert "Claim maternity allowance: you can apply" in page


def test_verified_answers_are_offered_back(client, catalogue, alice):
    VerifiedAttribute.objects.create(user=alice, element_key="person.employed", value=True, source="identity")
    client.force_login(alice)
    page = client.get("/services/maternity-allowance/eligibility/").content.decode()
    assert 'value="yes" checked' in page
