"""Builders for catalogue tests: departments, a small data dictionary and draft versions."""

from decimal import Decimal

import pytest

from accounts.demo import seed_departments
from services.models import DataElement, DocumentType, FormField, Service, ServiceVersion


@pytest.fixture
def departments(db):
    return {department.code: department for department in seed_departments()}


@pytest.fixture
def elements(db):
    specs = [
        ("business.name", "text", {}),
        ("business.floor_area_m2", "decimal", {"min_value": Decimal(1)}),
        ("business.has_employees", "boolean", {}),
        (
            "business.cuisine",
            "choice",
            {"choices": [{"value": "chinese", "label_en": "Chinese", "label_zh": "中餐"}, {"value": "other"}]},
        ),
        ("person.date_of_birth", "date", {}),
    ]
    return {
        key: DataElement.objects.get_or_create(
            key=key, defaults={"kind": kind, "label_en": key, "label_zh": key, **options}
        )[0]
        for key, kind, options in specs
    }


@pytest.fixture
def certificate_type(db):
    return DocumentType.objects.get_or_create(
        code="test-certificate",
        defaults={"name_en": "Test certificate", "name_zh": "测试证书", "allowed_content_types": ["application/pdf"]},
    )[0]


GOOD_ROUTE = {
    "steps": [
        {"key": "check", "department": "market", "kind": "review", "sla_days": 3},
        {"key": "health", "department": "health", "kind": "review", "after": ["check"]},
        {
            "key": "fire",
            "department": "fire",
            "kind": "review",
            "after": ["check"],
            "when": {"element": "business.floor_area_m2", "gt": 300},
        },
        {
            "key": "issue",
            "department": "market",
            "kind": "issue",
            "after": ["health", "fire"],
            "document_type": "test-certificate",
        },
    ]
}


@pytest.fixture
def make_draft(departments, elements, certificate_type):
    """A draft version of a new service with every test element on its form."""
    counter = {"n": 0}

    def make(route=None, *, eligibility=None, code=None, fields=None) -> ServiceVersion:
        counter["n"] += 1
        service = Service.objects.create(
            code=code or f"test-service-{counter['n']}",
            lead_department=departments["market"],
            name_en=f"Test service {counter['n']}",
            name_zh=f"测试服务{counter['n']}",
            category="business",
        )
        version = ServiceVersion.objects.create(
            service=service,
            number=1,
            route=GOOD_ROUTE if route is None else route,
            eligibility=eligibility or [],
        )
        for order, key in enumerate(fields if fields is not None else elements):
            FormField.objects.create(version=version, element=elements[key], order=order)
        return version

    return make


@pytest.fixture
def catalogue(departments):
    """The demo catalogue, published through publish validation."""
    from services.demo import seed_catalogue

    seed_catalogue()
