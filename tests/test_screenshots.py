"""The screenshots in docs/screenshots/ (docs/experience.md), made reproducibly in Chromium.

Not part of the suite: runs only with ONE_DOOR_SCREENSHOTS set, e.g.

    ONE_DOOR_SCREENSHOTS=after pytest tests/test_screenshots.py

The value names the set ("after"; "before" when run in an export of an earlier commit, see
docs/experience.md). Each picture is 1000 CSS pixels wide, clipped to the part that matters
and reduced to 256 colours, so it stays small.
"""

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from accounts.demo import seed_departments
from services.demo import seed_catalogue
from services.models import DataElement, FormField, Service, ServiceVersion
from tests.support.browser import sign_in
from tests.test_browser_catalogue import ROUTE
from workflows.engine.actions import correction_request, correction_submit, work_item_claim
from workflows.tests.test_workbench_support import routed_application, step, version_with

SET = os.environ.get("ONE_DOOR_SCREENSHOTS", "")
OUT = Path(os.environ.get("ONE_DOOR_SCREENSHOTS_DIR") or Path(__file__).resolve().parents[1] / "docs" / "screenshots")
WIDTH = 1000
MAX_HEIGHT = 2200

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not SET, reason="screenshots are made on demand (ONE_DOOR_SCREENSHOTS=after)"),
]

# The same route as the catalogue's browser test: the picture shows what that test checks.


def save(page, name: str, selector: str, *, width: int = WIDTH) -> Path:
    """The element's box (from its top, at most MAX_HEIGHT tall, the page's full width) as a
    256-colour PNG."""
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_timeout(600)  # the builder's live diagram
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not on the page"
    top = box["y"] + page.evaluate("window.scrollY")  # the box is measured in the viewport
    clip = {"x": 0, "y": top, "width": width, "height": min(box["height"], MAX_HEIGHT)}
    picture = Image.open(io.BytesIO(page.screenshot(clip=clip, full_page=True, scale="css")))
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}-{SET}.png"
    picture.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE).save(path, optimize=True)
    return path


def test_route_builder(page, administrator, password):
    seed_departments()
    seed_catalogue()
    service = Service.objects.create(
        code="night-market-stall",
        lead_department_id=Service.objects.first().lead_department_id,
        name_en="Run a night-market food stall",
        name_zh="夜市餐饮摊位经营许可",
        category="business",
    )
    version = ServiceVersion.objects.create(service=service, number=1, route=ROUTE, eligibility=[])
    for order, key in enumerate(["business.name", "business.floor_area_m2"]):
        FormField.objects.create(version=version, element=DataElement.objects.get(key=key), order=order)
    sign_in(page, "admin", password)
    page.set_viewport_size({"width": WIDTH, "height": 900})
    page.goto(f"/admin/services/serviceversion/{version.pk}/change/")
    page.locator("#toggle-nav-sidebar").click()  # the admin's menu folded away: room for the form
    save(page, "route-builder", "fieldset:has(.field-route)")
    save(page, "route-builder-diagram", ".field-diagram")
    # A public service page, where citizens read the diagram: the demo's longest route.
    published = ServiceVersion.objects.filter(status=ServiceVersion.Status.PUBLISHED).select_related("service")
    longest = max(published, key=lambda version: len((version.route or {}).get("steps", [])))
    page.goto(f"/services/{longest.service.code}/")
    for width in (375, 1280):
        save(page, f"route-diagram-{width}", ".od-route-figure", width=width)


def test_clerks_work_item_after_a_correction(page, alice, clerk_a, department_a, department_b, password):
    application = routed_application(applicant=alice, version=version_with(), **{"business.name": "Noodel House"})
    item = step(application)
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    correction_request(
        work_item_id=item.pk,
        actor=clerk_a,
        fields=["business.name"],
        materials=[],
        message="The business name is misspelt: check it against the lease.",
    )
    correction_submit(
        application_id=application.pk, applicant=alice, data={"business.name": "Noodle House"}, documents={}
    )
    sign_in(page, "clerk.a", password)
    page.goto(f"/workbench/items/{item.pk}/")
    save(page, "work-item", "main")
