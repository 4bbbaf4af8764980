"""/api/docs/: our own reference page, made from the OpenAPI schema, with the schema itself still
downloadable for tools."""

import pytest
import yaml
from django.urls import reverse

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


def test_it_lists_every_operation_and_schema_of_the_openapi_schema(client):
    schema = yaml.safe_load(client.get(reverse("api-schema")).content)
    page = client.get(reverse("api-docs")).content.decode()
    for path, operations in schema["paths"].items():
        for method in METHODS:
            if method in operations:
                assert f'id="{operations[method]["operationId"]}"' in page, (method, path)
    for name in schema["components"]["schemas"]:
        assert f'id="schema-{name}"' in page, name


def test_it_links_the_schema_for_download_and_needs_no_script(client):
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    page = response.content.decode()
    assert f'href="{reverse("api-schema")}?format=json" download' in page
    assert "swagger" not in page.lower()
    json_schema = client.get(reverse("api-schema"), {"format": "json"})
    assert json_schema.status_code == 200 and json_schema.json()["info"]["title"] == "One Door API"


def test_it_says_which_operations_need_a_signed_in_person(client):
    page = client.get(reverse("api-docs")).content.decode()
    drafts = page.index('id="drafts_list"')
    services = page.index('id="services_list"')
    assert "Needs a signed-in person" in page[drafts : drafts + 1500]
    assert "Anyone may call it." in page[services : services + 1500]
