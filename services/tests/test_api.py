"""The public, read-only catalogue API."""

import pytest

pytestmark = pytest.mark.django_db


def test_anyone_may_read_the_services(client, catalogue):
    response = client.get("/api/services/")
    assert response.status_code == 200
    codes = [service["code"] for service in response.json()["results"]]
    assert "food-business-permit" in codes and len(codes) == 16


def test_search_in_both_languages(client, catalogue):
    assert [s["code"] for s in client.get("/api/services/", {"q": "餐饮"}).json()["results"]] == [
        "food-business-permit"
    ]
    assert "food-business-permit" in [
        s["code"] for s in client.get("/api/services/", {"q": "restaurant"}).json()["results"]
    ]


def test_a_service_comes_with_its_current_version(client, catalogue):
    service = client.get("/api/services/food-business-permit/").json()
    version = service["current_version"]
    assert version["number"] == 1
    area = next(field for field in version["form"] if field["element"] == "business.floor_area_m2")
    assert (area["kind"], area["required"]) == ("decimal", True)
    assert [m["document_type"] for m in version["materials"]][:2] == ["business-licence", "lease-agreement"]
    fire = next(step for step in version["route"] if step["key"] == "fire")
    assert fire["when"] == {"element": "business.floor_area_m2", "gt": 300}
    assert fire["department"] == "fire"
    fees = client.get("/api/services/newborn-social-insurance/").json()["current_version"]["fees"]
    assert fees[0]["amount"] == "380.00"


def test_life_events_data_elements_and_document_types(client, catalogue):
    assert client.get("/api/life-events/have-a-baby/").json()["services"] == [
        "birth-medical-certificate",
        "newborn-household-registration",
        "newborn-social-insurance",
        "maternity-allowance",
    ]
    element = client.get("/api/data-elements/person.id_number/").json()
    assert (element["kind"], element["sensitivity"]) == ("resident_id", "sensitive")
    types = {t["code"]: t for t in client.get("/api/document-types/", {"limit": 100}).json()["results"]}
    assert types["food-business-licence"]["allowed_content_types"] == ["application/pdf"]


def test_unknown_codes_are_404_and_writes_are_refused(client, catalogue):
    assert client.get("/api/services/no-such-service/").status_code == 404
    assert client.get("/api/life-events/no-such-event/").status_code == 404
    assert client.post("/api/services/", {"code": "x"}).status_code in (403, 405)


def test_the_schema_documents_the_catalogue(client, administrator):
    client.force_login(administrator)
    schema = client.get("/api/schema/").content.decode()
    assert "/api/services/{code}/" in schema
    assert "/api/life-events/" in schema
