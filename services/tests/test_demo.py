"""The demo catalogue: enough to show every feature, bilingual, and seeding twice changes nothing."""

import re
from decimal import Decimal
from pathlib import Path

import pytest

from services.demo import seed_catalogue
from services.demo.loader import CATALOGUE, CatalogueError, catalogue_read
from services.models import CatalogueChange, DataElement, LifeEvent, Service, ServiceVersion
from services.routes import parse_route

pytestmark = pytest.mark.django_db


def test_the_demo_catalogue_is_big_enough_and_published(catalogue):
    assert Service.objects.count() >= 12
    assert Service.objects.values("lead_department").distinct().count() == 7
    assert LifeEvent.objects.count() >= 2
    assert ServiceVersion.objects.filter(status="published").count() == Service.objects.count()
    assert not Service.objects.filter(name_zh="").exists()


def test_the_routes_use_every_kind_of_step(catalogue):
    steps = [step for version in ServiceVersion.objects.all() for step in parse_route(version.route)]
    assert {step.kind for step in steps} == {"review", "automatic", "issue", "appointment", "payment"}
    assert any(step.when for step in steps)
    handlers = {step.handler for step in steps if step.kind == "automatic"}
    assert handlers == {"tax.register", "psb.verify_identity"}
    # Parallel: some step has two steps after it (or two start steps).
    for version in ServiceVersion.objects.all():
        route = parse_route(version.route)
        assert route[-1].kind == "issue"  # the issue step is last
    food = parse_route(ServiceVersion.objects.get(service__code="food-business-permit").route)
    assert sum(1 for step in food if step.after == ("examine",)) == 3


def test_seeding_twice_changes_nothing(catalogue):
    counts = (
        Service.objects.count(),
        ServiceVersion.objects.count(),
        DataElement.objects.count(),
        CatalogueChange.objects.count(),
    )
    seed_catalogue()
    assert counts == (
        Service.objects.count(),
        ServiceVersion.objects.count(),
        DataElement.objects.count(),
        CatalogueChange.objects.count(),
    )


def test_fees_and_limits_from_the_file_are_exact_decimals():
    catalogue = catalogue_read()
    marriage = next(spec for spec in catalogue["services"] if spec["code"] == "marriage-registration")
    assert [fee["amount"] for fee in marriage["version"]["fees"]] == [Decimal("9.00")]
    assert str(marriage["version"]["fees"][0]["amount"]) == "9.00"
    seats = next(entry for entry in catalogue["elements"] if entry["key"] == "business.seats")
    assert (seats["min_value"], seats["max_value"]) == (Decimal(0), Decimal(5000))


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = CATALOGUE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "catalogue.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    label_en: Full name\n",
            "    lable_en: Full name\n",
            "elements[0]: missing 'label_en', unknown key 'lable_en'",
        ),
        ("amount: '9.00'", "amount: 9.00", "fees[0].amount: write 9.0 in quotes"),
        ("section: about_you}", "section: about_yuo}", "no section 'about_yuo'"),
        ("{document_type: id-card}", "{document_type: id-crad}", "no document type 'id-crad'"),
        ("      - tax-registration\n", "      - tax-registeration\n", "no service 'tax-registeration'"),
    ],
)
def test_a_slip_in_the_file_is_named_before_anything_is_written(tmp_path, old, new, message):
    with pytest.raises(CatalogueError, match=re.escape(message)):
        catalogue_read(_edited(tmp_path, old, new))
