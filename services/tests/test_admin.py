"""Administration: publish with the error list, read-only published versions, per-service grants, change log."""

import json

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from services.actions import service_grant_change, version_publish
from services.models import CatalogueChange, Service, ServiceVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def market_admin(departments):
    user = UserFactory(username="market.admin", is_staff=True)
    MembershipFactory(user=user, department=departments["market"], role=Role.DEPARTMENT_ADMIN)
    return user


@pytest.fixture
def fire_admin(departments):
    user = UserFactory(username="fire.admin", is_staff=True)
    MembershipFactory(user=user, department=departments["fire"], role=Role.DEPARTMENT_ADMIN)
    return user


def change_url(obj) -> str:
    return reverse(f"admin:services_{obj._meta.model_name}_change", args=[obj.pk])


def test_publishing_from_the_admin_shows_every_problem(client, administrator, make_draft):
    draft = make_draft({"steps": [{"key": "check", "department": "nowhere", "kind": "review", "after": ["x"]}]})
    client.force_login(administrator)
    response = client.post(reverse("admin:services_serviceversion_publish", args=[draft.pk]), follow=True)
    page = response.content.decode()
    assert "was not published" in page
    assert "there is no department with the code “nowhere”" in page
    assert "comes after “x”, but the route has no step with that key" in page
    draft.refresh_from_db()
    assert draft.is_draft


def test_the_version_page_shows_the_diagram_and_the_publish_check(client, administrator, make_draft):
    draft = make_draft()
    client.force_login(administrator)
    page = client.get(change_url(draft)).content.decode()
    assert 'role="img"' in page
    assert "Yes: nothing stops this version from being published." in page
    response = client.post(reverse("admin:services_serviceversion_publish", args=[draft.pk]), follow=True)
    assert "is published: citizens see it now" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ServiceVersion.Status.PUBLISHED


def test_a_published_version_is_read_only_in_the_admin(client, administrator, make_draft):
    version = version_publish(version=make_draft(), actor=administrator)
    client.force_login(administrator)
    page = client.get(change_url(version)).content.decode()
    assert 'name="time_limit_days"' not in page
    assert "New draft from current" in page
    response = client.post(change_url(version), {"time_limit_days": "1"})
    assert response.status_code == 403
    version.refresh_from_db()
    assert version.time_limit_days == 20


def test_new_draft_from_current_in_the_admin(client, administrator, make_draft):
    version = version_publish(version=make_draft(), actor=administrator)
    client.force_login(administrator)
    response = client.post(reverse("admin:services_serviceversion_new_draft", args=[version.pk]))
    draft = ServiceVersion.objects.get(service=version.service, number=2)
    assert response.url == change_url(draft)
    assert draft.fields.count() == version.fields.count()


def test_admin_saves_are_recorded_with_what_changed(client, administrator, departments):
    client.force_login(administrator)
    data = {
        "code": "pet-licence",
        "lead_department": departments["civil"].pk,
        "category": "social",
        "name_en": "Licence a dog",
        "name_zh": "养犬登记",
        "summary_en": "",
        "summary_zh": "",
        "life_situations": "[]",
        "online": "on",
        "at_counter": "on",
        "retention_days": "3650",
    }
    assert client.post(reverse("admin:services_service_add"), data).status_code == 302
    service = Service.objects.get(code="pet-licence")
    client.post(change_url(service), {**data, "name_en": "Register a dog"})
    change = CatalogueChange.objects.filter(service=service, action=CatalogueChange.Action.CHANGED).get()
    assert change.actor == administrator
    assert change.changes == {"name_en": {"from": "Licence a dog", "to": "Register a dog"}}
    assert CatalogueChange.objects.filter(service=service, action=CatalogueChange.Action.CREATED).exists()


def test_a_form_field_without_element_is_refused_next_to_the_field(client, administrator, make_draft):
    draft = make_draft(fields=[])
    client.force_login(administrator)
    data = {
        "time_limit_days": "20",
        "route": json.dumps(draft.route),
        "eligibility": "[]",
        "rejection_reasons": "[]",
        "fields-TOTAL_FORMS": "1",
        "fields-INITIAL_FORMS": "0",
        "fields-0-order": "0",
        "fields-0-element": "",
        "fields-0-section_en": "Premises",
        "fields-0-section_zh": "基本信息",
        "fields-0-required": "on",
        "fields-0-when": "null",
        "materials-TOTAL_FORMS": "0",
        "materials-INITIAL_FORMS": "0",
        "fees-TOTAL_FORMS": "1",
        "fees-INITIAL_FORMS": "0",
        "fees-0-label_en": "Fee",
        "fees-0-label_zh": "费用",
        "fees-0-amount": "twelve",
    }
    response = client.post(change_url(draft), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in page
    assert "Enter a number." in page
    assert not draft.fields.exists() and not draft.fees.exists()


def test_a_department_admin_edits_only_the_services_granted_to_them(
    client, administrator, market_admin, fire_admin, make_draft
):
    market_version = make_draft()
    service = market_version.service
    service_grant_change(service=service, user=market_admin, actor=administrator)
    assert CatalogueChange.objects.filter(action=CatalogueChange.Action.GRANTED, service=service).exists()

    client.force_login(market_admin)
    assert client.get(change_url(service)).status_code == 200
    assert client.get(change_url(market_version)).status_code == 200
    listing = client.get(reverse("admin:services_service_changelist")).content.decode()
    assert service.code in listing

    # The outsider: a department administrator without the grant sees nothing and changes nothing.
    client.force_login(fire_admin)
    assert service.code not in client.get(reverse("admin:services_service_changelist")).content.decode()
    response = client.get(change_url(service))
    assert response.status_code in (302, 403, 404)
    client.post(change_url(service), {"name_en": "Hijacked"})
    assert client.get(change_url(market_version)).status_code in (302, 403, 404)
    assert client.post(reverse("admin:services_serviceversion_publish", args=[market_version.pk])).status_code == 404
    assert (
        client.post(reverse("admin:services_service_grant", args=[service.pk]), {"user": fire_admin.pk}).status_code
        == 404
    )
    service.refresh_from_db()
    market_version.refresh_from_db()
    assert service.name_en != "Hijacked"
    assert market_version.is_draft
    assert not fire_admin.has_perm("services.change_service", service)


def test_a_citizen_cannot_reach_the_catalogue_admin(client, bob, make_draft):
    draft = make_draft()
    client.force_login(bob)
    assert client.get(change_url(draft)).status_code == 302  # to the admin log-in
    assert client.post(reverse("admin:services_serviceversion_publish", args=[draft.pk])).status_code == 302
    draft.refresh_from_db()
    assert draft.is_draft


def test_the_superuser_grants_through_the_admin(client, administrator, market_admin, make_draft):
    service = make_draft().service
    client.force_login(administrator)
    grant = reverse("admin:services_service_grant", args=[service.pk])
    assert client.post(grant, {"user": market_admin.pk}).status_code == 302
    assert market_admin.has_perm("services.change_service", service)
    assert "market.admin" in client.get(grant).content.decode()


def test_a_service_declares_its_retention_in_the_admin(client, administrator, departments):
    client.force_login(administrator)
    data = {
        "code": "pet-licence",
        "lead_department": departments["civil"].pk,
        "category": "social",
        "name_en": "Licence a dog",
        "name_zh": "养犬登记",
        "life_situations": "[]",
        "retention_days": "-1",
    }
    assert client.post(reverse("admin:services_service_add"), data).status_code == 200  # refused, explained
    assert client.post(reverse("admin:services_service_add"), {**data, "retention_days": "1825"}).status_code == 302
    assert Service.objects.get(code="pet-licence").retention_days == 1825
