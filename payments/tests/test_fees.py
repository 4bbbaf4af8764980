"""Fee rules in fen: fixed, per unit of an answer, waived by a condition; publish refuses what
cannot be charged."""

from decimal import Decimal

import pytest

from services.actions import PublishRefused, version_publish
from services.fees import FeeError, fee_quote, fen_of_yuan, format_fen
from services.models import Fee, FormField, Service, ServiceVersion
from workflows.tests.factories import ELEMENTS, departments, element

pytestmark = pytest.mark.django_db


def draft(route=None) -> ServiceVersion:
    found = departments()
    service = Service.objects.create(
        code="copies", lead_department=found["market"], name_en="Copies", name_zh="复印", category="business"
    )
    version = ServiceVersion.objects.create(
        service=service,
        number=1,
        route=route or {"steps": [{"key": "pay", "department": "market", "kind": "payment"}]},
    )
    for order, key in enumerate(ELEMENTS):
        FormField.objects.create(version=version, element=element(key), order=order, required=False)
    return version


def test_yuan_become_whole_fen_and_finer_amounts_are_refused():
    assert fen_of_yuan(Decimal("120.50")) == 12050
    assert fen_of_yuan(Decimal("0.01")) == 1
    assert fen_of_yuan(Decimal("9")) == 900
    with pytest.raises(FeeError):
        fen_of_yuan(Decimal("0.005"))
    assert format_fen(12050) == "¥120.50"
    assert format_fen(123456789) == "¥1,234,567.89"
    assert format_fen(7) == "¥0.07"


def test_a_fixed_fee_a_fee_per_unit_and_a_waived_fee():
    version = draft()
    Fee.objects.create(version=version, label_en="Licence", label_zh="许可", amount=Decimal("100.00"))
    Fee.objects.create(
        version=version,
        label_en="Per m²",
        label_zh="每平方米",
        amount=Decimal("0.35"),
        per_unit="business.floor_area_m2",
    )
    Fee.objects.create(
        version=version,
        label_en="Inspection",
        label_zh="检查",
        amount=Decimal("50.00"),
        exempt_when={"element": "business.floor_area_m2", "lt": 50},
    )
    big = fee_quote(version, {"business.floor_area_m2": 120})
    assert [line.amount_fen for line in big.lines] == [10000, 4200, 5000]
    assert big.total_fen == 19200 and big.total_text == "¥192.00"
    small = fee_quote(version, {"business.floor_area_m2": 20})
    assert [line.amount_fen for line in small.lines] == [10000, 700, 0]
    assert small.lines[2].exempt
    # No answer for the unit: nothing charged for that line.
    assert fee_quote(version, {}).lines[1].amount_fen == 0


def test_refund_rules_by_outcome():
    version = draft()
    Fee.objects.create(version=version, label_en="A", label_zh="A", amount=Decimal("10.00"), refund_on_rejection=True)
    Fee.objects.create(version=version, label_en="B", label_zh="B", amount=Decimal("5.00"), refund_on_withdrawal=False)
    quote = fee_quote(version, {})
    assert quote.refundable_on("withdrawn") == 1000
    assert quote.refundable_on("rejected") == 1000


def test_publish_refuses_fees_that_cannot_be_charged():
    version = draft()
    Fee.objects.create(
        version=version, label_en="Per name", label_zh="每名", amount=Decimal("1.00"), per_unit="business.name"
    )
    Fee.objects.create(
        version=version,
        label_en="Waived",
        label_zh="免",
        amount=Decimal("1.00"),
        exempt_when={"element": "nope", "eq": 1},
    )
    with pytest.raises(PublishRefused) as refused:
        version_publish(version=version, actor=None)
    messages = refused.value.messages
    assert any("Fee “Per name”: “per unit of” must name a whole-number field" in m for m in messages)
    assert any(m.startswith("Fee “Waived”, “not charged when”:") for m in messages)


def test_a_payment_step_needs_fees_and_only_one_is_allowed():
    version = draft(
        {
            "steps": [
                {"key": "pay", "department": "market", "kind": "payment"},
                {"key": "again", "department": "market", "kind": "payment", "after": ["pay"]},
            ]
        }
    )
    with pytest.raises(PublishRefused) as refused:
        version_publish(version=version, actor=None)
    assert "Step “pay” takes a payment, but the version has no fees." in refused.value.messages
    assert any("more than one payment step" in m for m in refused.value.messages)
