"""The demo catalogue: enough to show every feature, bilingual, and seeding twice changes nothing."""

import pytest

from services.demo import seed_catalogue
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
    assert {step.kind for step in steps} == {"review", "automatic", "issue"}
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
