"""Data minimisation: each route step is shown only the answers and documents it needs.

Alice applies for "open a restaurant" (the demo catalogue: business licence, food business
licence, tax registration) with staff and large premises; the business licence is approved first,
as the other two wait for it, so the bundle holds her health
certificate and fire-safety plan. The Taxation Bureau's clerk is not shown the health
certificate anywhere (page, API, document URL, preview); within the food business licence, the
Fire and Rescue step sees the fire-safety plan and not the health certificate, the Health step
the other way round; and Alice's access log says which department could see what.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from accounts.actions import verified_attribute_set
from accounts.demo import seed_departments
from accounts.models import Department, Membership, Role, User
from documents.actions import document_upload
from documents.scanning import KnownContentScanner
from services.demo import seed_catalogue
from services.models import DocumentType, LifeEvent, ServiceVersion
from services.routes import check_route
from workflows.apply import actions as apply
from workflows.apply.demo import demo_pdf
from workflows.apply.selectors.merged_form import group_form
from workflows.engine.actions import work_item_claim, work_item_decide
from workflows.engine.errors import TransitionRefused
from workflows.models import Application, DataAccessRecord, GroupDocument, WorkItem

pytestmark = pytest.mark.django_db

VERIFIED = {
    "person.full_name": "Alice Wang",
    "person.id_number": "11010519491231002X",
    "person.phone": "13800138000",
    "person.email": "alice@example.org",
}
ANSWERS = {
    "business.name": "Alice's Noodle House",
    "business.legal_form": "individual",
    "business.address": "1 Renmin Road, Beijing",
    "business.cuisine": "chinese",
    "business.floor_area_m2": "450",
    "business.seats": "120",
    "business.has_employees": "true",
}


def _clerk(username: str, department: str, role: str = Role.CLERK) -> User:
    user = User.objects.create(username=username, display_name=username.replace(".", " ").title())
    Membership.objects.create(user=user, department=Department.objects.get(code=department), role=role)
    return user


@pytest.fixture
def restaurant(db, alice) -> dict[str, Application]:
    """Alice's submitted restaurant bundle, with every document its merged form asks, each
    passed by a (test) virus scanner; the food licence's first step approved, so its health
    and fire steps are open."""
    seed_departments()
    seed_catalogue()
    for key, value in VERIFIED.items():
        verified_attribute_set(user=alice, element_key=key, value=value, source="identity")
    group = apply.draft_start(applicant=alice, life_event=LifeEvent.objects.get(code="open-a-restaurant"))
    form = group_form(group)
    asked = {spec.key for spec in form.fields}
    apply.draft_save(
        applicant=alice, group_id=group.pk, values={key: value for key, value in ANSWERS.items() if key in asked}
    )
    group.refresh_from_db()
    for material in group_form(group).shown_materials(group.data):
        document_type = DocumentType.objects.get(code=material.code)
        content = demo_pdf(document_type.name_en, alice.name)
        document = document_upload(
            owner=alice,
            document_type=document_type,
            uploaded_file=SimpleUploadedFile(f"{material.code}.pdf", content, content_type="application/pdf"),
            fallback_scanner=KnownContentScanner([content], vouched_by="the test"),
        )
        apply.draft_attach_document(
            applicant=alice, group_id=group.pk, document_type=document_type, document_id=document.pk
        )
    with TestCase.captureOnCommitCallbacks(execute=True):
        apply.group_submit(applicant=alice, group_id=group.pk, idempotency_key="restaurant-1")
    applications = {application.service.code: application for application in group.applications.all()}
    market = _clerk("clerk.market", "market")
    # The food licence and the tax registration wait for the business licence of the same bundle.
    for code in ("business-licence", "food-business-permit"):
        examine = applications[code].work_items.get(step_key="examine")
        with TestCase.captureOnCommitCallbacks(execute=True):
            work_item_claim(work_item_id=examine.pk, clerk=market)
            work_item_decide(work_item_id=examine.pk, actor=market, decision=WorkItem.Decision.APPROVED)
    return applications


@pytest.fixture
def tax_clerk(restaurant) -> User:
    return _clerk("clerk.tax", "tax")


@pytest.fixture
def fire_clerk(restaurant) -> User:
    return _clerk("clerk.fire", "fire")


@pytest.fixture
def health_clerk(restaurant) -> User:
    return _clerk("clerk.health", "health")


def _review(application: Application, step_key: str) -> WorkItem:
    return application.work_items.get(step_key=step_key, kind=WorkItem.Kind.REVIEW, status=WorkItem.Status.OPEN)


def _attachment(application: Application, code: str) -> GroupDocument:
    return GroupDocument.objects.select_related("document").get(group=application.group, document_type__code=code)


def _document_urls(item: WorkItem, document_id: int) -> list[str]:
    base = f"/workbench/items/{item.pk}/documents/{document_id}/"
    return [base, f"{base}preview/", f"{base}preview.png"]


# --- The tax clerk and the health certificate --------------------------------------------------


def test_the_tax_clerk_cannot_see_the_health_certificate_on_the_page_the_api_or_by_url(
    client, restaurant, tax_clerk, health_clerk
):
    tax = _review(restaurant["tax-registration"], "confirm")
    health_certificate = _attachment(restaurant["food-business-permit"], "health-certificate")
    client.force_login(tax_clerk)

    page = client.get(f"/workbench/items/{tax.pk}/").content.decode()
    assert "Alice&#x27;s Noodle House" in page  # what tax needs is there…
    assert "Health certificate" not in page and "health-certificate.pdf" not in page  # …and nothing else
    assert "Fire safety rules" not in page and "Floor area" not in page

    answer = client.get(f"/api/workbench/items/{tax.pk}/").json()
    # The business licence it needs is issued within the bundle, later; nothing else is listed.
    assert answer["documents"] == []
    assert "business.floor_area_m2" not in {row["key"] for row in answer["answers"]}
    assert "business.name" in {row["key"] for row in answer["answers"]}

    for url in _document_urls(tax, health_certificate.document_id):
        assert client.get(url).status_code == 404, url

    # Nor through the health step's own URLs: that step is another department's.
    hygiene = _review(restaurant["food-business-permit"], "health")
    assert client.get(f"/workbench/items/{hygiene.pk}/").status_code == 404
    assert client.get(f"/api/workbench/items/{hygiene.pk}/").status_code == 404
    for url in _document_urls(hygiene, health_certificate.document_id):
        assert client.get(url).status_code == 404, url
    # …where the health clerk does open it.
    client.force_login(health_clerk)
    assert client.get(_document_urls(hygiene, health_certificate.document_id)[0]).status_code == 200


# --- Steps of one service: the route's `needs` ----------------------------------------------------


def test_the_fire_step_sees_the_fire_safety_plan_and_not_the_health_certificate(client, restaurant, fire_clerk):
    fire = _review(restaurant["food-business-permit"], "fire")
    health_certificate = _attachment(restaurant["food-business-permit"], "health-certificate")
    plan = _attachment(restaurant["food-business-permit"], "fire-safety-plan")
    client.force_login(fire_clerk)

    page = client.get(f"/workbench/items/{fire.pk}/").content.decode()
    assert "Fire safety rules and evacuation plan" in page and "Floor area" in page
    assert "Health certificate" not in page
    assert "Cuisine" not in page and "Staff" not in page.split('id="documents"')[0].split("Applicant")[-1]
    assert 'id="minimised"' in page

    answer = client.get(f"/api/workbench/items/{fire.pk}/").json()
    assert sorted(document["document_type"] for document in answer["documents"]) == ["fire-safety-plan", "floor-plan"]
    assert {row["key"] for row in answer["answers"]} == {
        "business.name",
        "business.address",
        "business.floor_area_m2",
        "business.seats",
    }

    for url in _document_urls(fire, health_certificate.document_id):
        assert client.get(url).status_code == 404, url
    assert client.get(_document_urls(fire, plan.document_id)[0]).status_code == 200


def test_the_health_step_sees_the_health_certificate_and_not_the_fire_safety_plan(client, restaurant, health_clerk):
    hygiene = _review(restaurant["food-business-permit"], "health")
    plan = _attachment(restaurant["food-business-permit"], "fire-safety-plan")
    health_certificate = _attachment(restaurant["food-business-permit"], "health-certificate")
    client.force_login(health_clerk)

    page = client.get(f"/workbench/items/{hygiene.pk}/").content.decode()
    assert "Health certificate" in page and "Fire safety rules" not in page
    for url in _document_urls(hygiene, plan.document_id):
        assert client.get(url).status_code == 404, url
    assert client.get(_document_urls(hygiene, health_certificate.document_id)[0]).status_code == 200


def test_a_protected_answer_the_step_does_not_need_cannot_be_revealed(client, restaurant, fire_clerk):
    fire = _review(restaurant["food-business-permit"], "fire")
    client.force_login(fire_clerk)
    # The resident ID is on the food licence's form, but the fire step does not need it.
    assert "person.id_number" in restaurant["food-business-permit"].data
    assert client.post(f"/workbench/items/{fire.pk}/reveal/", {"field": "person.id_number"}).status_code == 404
    assert not DataAccessRecord.objects.filter(what=DataAccessRecord.What.REVEAL_FIELD).exists()


def test_a_step_cannot_ask_to_correct_what_it_is_not_shown(client, restaurant, fire_clerk):
    fire = _review(restaurant["food-business-permit"], "fire")
    work_item_claim(work_item_id=fire.pk, clerk=fire_clerk)
    client.force_login(fire_clerk)
    page = client.get(f"/workbench/items/{fire.pk}/").content.decode()
    correction = page[page.index(f'action="/workbench/items/{fire.pk}/correction/"') :]
    assert 'value="fire-safety-plan"' in correction and 'value="health-certificate"' not in correction
    answer = client.post(
        f"/api/workbench/items/{fire.pk}/correction/",
        {"materials": ["health-certificate"], "message": "Send a newer one."},
        content_type="application/json",
    )
    assert answer.status_code == 409
    assert "not shown these" in answer.json()["detail"] and "health-certificate" in answer.json()["detail"]
    with pytest.raises(TransitionRefused):
        from workflows.engine.actions import correction_request

        correction_request(
            work_item_id=fire.pk, actor=fire_clerk, fields=["business.cuisine"], materials=[], message="Which?"
        )


# --- The access log ------------------------------------------------------------------------------


def test_the_access_log_shows_what_each_department_could_see(client, alice, bob, restaurant, tax_clerk, fire_clerk):
    tax = _review(restaurant["tax-registration"], "confirm")
    fire = _review(restaurant["food-business-permit"], "fire")
    client.force_login(tax_clerk)
    client.get(f"/workbench/items/{tax.pk}/")
    client.force_login(fire_clerk)
    client.get(f"/api/workbench/items/{fire.pk}/")

    tax_look = DataAccessRecord.objects.get(what="view_application", department__code="tax")
    assert tax_look.visible["documents"] == []
    assert "business.name" in tax_look.visible["elements"]
    assert "business.floor_area_m2" not in tax_look.visible["elements"]
    fire_look = DataAccessRecord.objects.get(what="view_application", department__code="fire")
    assert fire_look.visible == {
        "elements": ["business.address", "business.floor_area_m2", "business.name", "business.seats"],
        "documents": ["fire-safety-plan", "floor-plan"],
    }

    client.force_login(alice)
    page = client.get("/account/access-log/").content.decode()
    sights = page[page.index('id="access-sights"') : page.index("</table>", page.index('id="access-sights"'))]
    rows = sights.split('<tr class="govuk-table__row">')[2:]
    by_department = {row.split('<td class="govuk-table__cell">')[1].split("</td>")[0]: row for row in rows}
    assert set(by_department) == {"Taxation Bureau", "Fire and Rescue Department"}
    assert "Business name" in by_department["Taxation Bureau"]
    assert "Health certificate" not in by_department["Taxation Bureau"]
    assert "Floor area" not in by_department["Taxation Bureau"]
    assert "Fire safety rules and evacuation plan" in by_department["Fire and Rescue Department"]
    assert "Health certificate" not in by_department["Fire and Rescue Department"]
    assert "Floor area" in by_department["Fire and Rescue Department"]
    api = client.get("/api/my/access-log/").json()
    visible = [record["visible"] for record in api["results"] if record["what"] == "view_application"]
    assert {"elements": fire_look.visible["elements"], "documents": fire_look.visible["documents"]} in visible

    # Bob sees none of it.
    client.force_login(bob)
    page = client.get("/account/access-log/").content.decode()
    assert 'id="access-sights"' not in page and "Taxation Bureau" not in page


def test_the_access_log_page_does_not_grow_with_the_looks(
    client, alice, restaurant, tax_clerk, fire_clerk, django_assert_max_num_queries
):
    tax = _review(restaurant["tax-registration"], "confirm")
    fire = _review(restaurant["food-business-permit"], "fire")
    client.force_login(tax_clerk)
    client.get(f"/workbench/items/{tax.pk}/")
    client.force_login(alice)
    assert client.get("/account/access-log/").status_code == 200
    # The page's own 10 with records to summarise, and 2 for "what each department could see":
    # the distinct looks, and the labels of what they name (one UNION of elements and documents).
    with django_assert_max_num_queries(12) as before:
        client.get("/account/access-log/")
    counted = len(before.captured_queries)  # read now: the next requests reset Django's query log
    for clerk_user, item in [(fire_clerk, fire), (tax_clerk, tax), (fire_clerk, fire)]:
        client.force_login(clerk_user)
        client.get(f"/workbench/items/{item.pk}/")
    client.force_login(alice)
    client.get("/account/access-log/")  # warm again after signing in, as before
    with django_assert_max_num_queries(counted):
        page = client.get("/account/access-log/").content.decode()
    assert "Fire and Rescue Department" in page


# --- The route: `needs` validated -----------------------------------------------------------------


def _food_version() -> ServiceVersion:
    return ServiceVersion.objects.get(service__code="food-business-permit", status="published")


def _kinds(version: ServiceVersion) -> dict[str, str]:
    return {field.element.key: field.element.kind for field in version.fields.select_related("element")}


def test_needs_naming_an_unknown_element_or_document_is_refused_with_a_clear_message(restaurant):
    version = _food_version()
    route = {
        "steps": [
            {
                "key": "fire",
                "department": "fire",
                "kind": "review",
                "needs": {"elements": ["business.name", "business.colour"], "documents": ["passport"]},
            }
        ]
    }
    materials = list(version.materials.values_list("document_type__code", flat=True))
    problems = check_route(route, element_kinds=_kinds(version), materials=materials)
    assert problems == [
        "Step “fire” needs the data element “business.colour”, but this version's form does not ask it; "
        "add it to the form or remove it from “needs”.",
        "Step “fire” needs the document “passport”, but this version does not ask for it as a material; "
        "add it to the materials or remove it from “needs”.",
    ]
    route["steps"][0]["needs"] = {"elements": ["business.name"], "documents": ["fire-safety-plan"]}
    assert check_route(route, element_kinds=_kinds(version), materials=materials) == []


@pytest.mark.parametrize("needs", [["business.name"], {"elements": "business.name"}, {"answers": []}])
def test_needs_of_the_wrong_shape_is_refused(restaurant, needs):
    version = _food_version()
    route = {"steps": [{"key": "fire", "department": "fire", "kind": "review", "needs": needs}]}
    (problem,) = check_route(route, element_kinds=_kinds(version), materials=[])
    assert problem == ("Step “fire”: “needs” must be an object with a list of “elements” and a list of “documents”.")
