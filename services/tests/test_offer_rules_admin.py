"""Proactive offer rules in the admin: a rule made there is recorded in the change log and is
seen at once by the notification task's trigger list; a rule cannot offer its own trigger."""

import pytest
from django.urls import reverse

from accounts.demo import seed_departments
from services.demo.loader import seed_catalogue
from services.models import CatalogueChange, OfferRule, Service
from services.offer_rules import offer_triggers

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(db) -> None:
    seed_departments()
    seed_catalogue()


def _rule_form(trigger: Service, offered: Service, **changes: str) -> dict[str, str]:
    return {
        "code": "marriage-registered",
        "name_en": "A marriage is registered",
        "name_zh": "结婚登记办结",
        "trigger_service": str(trigger.pk),
        "trigger_event": "application_approved",
        "days_to_respond": "30",
        "active": "on",
        "entries-TOTAL_FORMS": "1",
        "entries-INITIAL_FORMS": "0",
        "entries-0-service": str(offered.pk),
        "entries-0-order": "0",
        **changes,
    }


def test_the_demo_rule_is_seeded_once(catalogue):
    seed_catalogue()
    rule = OfferRule.objects.get(code="newborn-registered")
    assert [(e.service.code, e.grant_without_request) for e in rule.entries.all()] == [
        ("childbirth-allowance", False),
        ("newborn-social-insurance", True),
    ]


def test_a_rule_added_in_the_admin_is_recorded_and_takes_effect_at_once(client, administrator, catalogue):
    marriage = Service.objects.get(code="marriage-registration")
    residence = Service.objects.get(code="residence-permit")
    assert (marriage.pk, "application_approved") not in offer_triggers()  # read (and cached) before

    client.force_login(administrator)
    response = client.post(reverse("admin:services_offerrule_add"), _rule_form(marriage, residence))

    assert response.status_code == 302, response.content.decode()[:2000]
    rule = OfferRule.objects.get(code="marriage-registered")
    assert rule.entries.get().service == residence
    change = CatalogueChange.objects.get(object_type="services.offerrule", object_id=str(rule.pk))
    assert change.actor == administrator and change.action == CatalogueChange.Action.CREATED
    assert (marriage.pk, "application_approved") in offer_triggers()


def test_a_rule_cannot_offer_the_service_that_sets_it_off(client, administrator, catalogue):
    marriage = Service.objects.get(code="marriage-registration")
    client.force_login(administrator)
    response = client.post(reverse("admin:services_offerrule_add"), _rule_form(marriage, marriage))
    assert response.status_code == 200
    assert "A rule cannot offer the service whose application sets it off." in response.content.decode()
    assert not OfferRule.objects.filter(code="marriage-registered").exists()
