"""The citizen's catalogue: browse, search in both languages, service and life-event pages, 404s."""

import pytest
from django.test import Client
from django.urls import reverse

from services.actions import version_publish
from services.models import LifeEvent, Service, ServiceVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def chinese(client: Client) -> Client:
    client.cookies["django_language"] = "zh-hans"
    return client


def test_the_catalogue_lists_services_by_department_and_life_events(client, catalogue):
    page = client.get("/services/").content.decode()
    assert "Apply for a food business licence" in page
    assert "Fire and Rescue Department" in page
    assert "Open a restaurant" in page and "Have a baby" in page
    assert page.count('href="/services/') >= Service.objects.count()


def test_browsing_by_department_and_topic(client, catalogue):
    page = client.get("/services/?department=hrss").content.decode()
    assert "Claim maternity allowance" in page
    assert "Apply for a food business licence" not in page
    page = client.get("/services/?category=family").content.decode()
    assert "Register a marriage" in page
    assert "Register for tax" not in page


def test_search_in_english(client, catalogue):
    page = client.get("/services/", {"q": "restaurant"}).content.decode()
    assert "Apply for a food business licence" in page
    assert "Open a restaurant" in page
    assert "Claim unemployment benefit" not in page


def test_search_in_chinese(chinese, catalogue):
    page = chinese.get("/services/", {"q": "餐饮"}).content.decode()
    assert "食品经营许可" in page
    assert "开办餐饮店" in page
    assert "失业保险金申领" not in page
    page = chinese.get("/services/", {"q": "生孩子"}).content.decode()
    assert "生孩子" in page


def test_a_search_without_results_says_so(client, catalogue):
    page = client.get("/services/", {"q": "spaceship"}).content.decode()
    assert "No service matches your search" in page


def test_a_service_page_shows_what_you_need_and_who_handles_it(client, catalogue):
    response = client.get("/services/food-business-permit/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "10 working days" in page
    assert "Online, or at the one-stop counter" in page
    assert "Floor plan of the premises" in page
    assert "only when Floor area of the premises (m²) is more than 300" in page  # a conditional material
    assert "Free" in page
    assert 'role="img"' in page and "Fire safety inspection" in page  # the route diagram
    assert "Check if you can apply" in page


def test_fees_are_shown(client, catalogue):
    page = client.get("/services/newborn-social-insurance/").content.decode()
    assert "¥380.00" in page


def test_the_service_page_in_chinese(chinese, catalogue):
    page = chinese.get("/services/food-business-permit/").content.decode()
    assert "食品经营许可" in page
    assert "消防救援支队" in page


def test_a_life_event_page_lists_its_services_in_order(client, catalogue):
    page = client.get("/life-events/have-a-baby/").content.decode()
    positions = [
        page.index(name)
        for name in (
            "Get a birth medical certificate",
            "Register a newborn&#x27;s household registration",
            "Enrol a newborn in medical insurance",
            "Claim maternity allowance",
        )
    ]
    assert positions == sorted(positions)
    assert page.count('<figure class="od-route-figure') == 4  # one route diagram per service


@pytest.mark.parametrize(
    "url",
    [
        "/services/no-such-service/",
        "/services/no-such-service/eligibility/",
        "/life-events/no-such-event/",
        "/life-events/no-such-event/eligibility/",
    ],
)
def test_an_unknown_code_is_the_portal_404_page(client, catalogue, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_a_service_without_published_version_is_not_shown(client, make_draft):
    draft = make_draft(code="secret-draft")
    assert client.get("/services/secret-draft/").status_code == 404
    assert "secret-draft" not in client.get("/services/").content.decode()
    version_publish(version=draft, actor=None)
    assert client.get("/services/secret-draft/").status_code == 200


def test_the_catalogue_query_count_does_not_grow_with_the_number_of_services(
    client, catalogue, make_draft, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8) as listing:
        client.get("/services/")
    with django_assert_max_num_queries(8) as searching:
        client.get("/services/", {"q": "service"})
    for _ in range(10):
        version_publish(version=make_draft(), actor=None)
    assert ServiceVersion.objects.filter(status="published").count() >= 24
    with django_assert_max_num_queries(len(listing.captured_queries)):
        response = client.get("/services/")
    assert response.content.decode().count("Test service") == 10
    with django_assert_max_num_queries(len(searching.captured_queries)):
        response = client.get("/services/", {"q": "service"})
    assert response.content.decode().count("Test service") == 10


def test_the_nav_links_to_the_catalogue(client, catalogue):
    assert reverse("services:catalogue") in client.get("/").content.decode()


def test_life_event_entries_come_from_the_demo(catalogue):
    restaurant = LifeEvent.objects.get(code="open-a-restaurant")
    assert [entry.service.code for entry in restaurant.entries.all()] == [
        "business-licence",
        "food-business-permit",
        "tax-registration",
    ]


def test_chinese_search_understands_everyday_words(chinese, catalogue):
    # 开饭店 is how people say it; the catalogue says 开办餐饮店 and tags 饭店.
    page = chinese.get("/services/", {"q": "开饭店"}).content.decode()
    assert "开办餐饮店" in page and "食品经营许可" in page
    assert "失业保险金申领" not in page
    page = chinese.get("/services/", {"q": "上户口"}).content.decode()
    assert "生孩子" in page
    page = chinese.get("/services/", {"q": "宇宙飞船"}).content.decode()
    assert "没有找到相关服务" in page  # no piece of 宇宙飞船 is in the catalogue
