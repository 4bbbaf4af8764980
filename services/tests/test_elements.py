from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from services.elements import mask_value, resident_id_is_valid, validate_value
from services.models import DataElement

Kind = DataElement.Kind


def element(kind, **options) -> DataElement:
    return DataElement(key="test.value", kind=kind, label_en="Value", label_zh="值", **options)


@pytest.mark.parametrize(
    ("kind", "raw", "cleaned"),
    [
        (Kind.TEXT, "  Wang   Fang ", "Wang Fang"),
        (Kind.NUMBER, "12", 12),
        (Kind.NUMBER, 7, 7),
        (Kind.DECIMAL, "350.50", "350.50"),
        (Kind.DECIMAL, 300, "300"),
        (Kind.DATE, "2024-02-29", "2024-02-29"),
        (Kind.BOOLEAN, "yes", True),
        (Kind.BOOLEAN, "false", False),
        (Kind.BOOLEAN, True, True),
        (Kind.EMAIL, " alice@example.org ", "alice@example.org"),
        (Kind.PHONE, "+86 138 0013 8000", "13800138000"),
        (Kind.PHONE, "010-12345678", "010-12345678"),
        (Kind.PHONE, "0755 8888 9999", "0755-88889999"),
        (Kind.RESIDENT_ID, "11010519491231002x", "11010519491231002X"),
        (Kind.ADDRESS, "1 Renmin Road", "1 Renmin Road"),
    ],
)
def test_valid_values_are_cleaned_to_one_json_shape(kind, raw, cleaned):
    assert validate_value(element(kind), raw) == cleaned


def test_a_choice_must_be_one_of_the_options():
    cuisine = element(Kind.CHOICE, choices=[{"value": "chinese"}, {"value": "western"}])
    assert validate_value(cuisine, "chinese") == "chinese"
    with pytest.raises(ValidationError, match="Select one of the options"):
        validate_value(cuisine, "martian")


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        (Kind.NUMBER, "1.5", "whole number"),
        (Kind.NUMBER, "twelve", "whole number"),
        (Kind.NUMBER, True, "whole number"),
        (Kind.DECIMAL, "abc", "Enter a number"),
        (Kind.DECIMAL, "NaN", "Enter a number"),
        (Kind.DATE, "2023-02-29", "real date"),
        (Kind.BOOLEAN, "perhaps", "yes or no"),
        (Kind.EMAIL, "alice@", "e-mail address"),
        (Kind.PHONE, "12345", "mobile number"),
        (Kind.PHONE, "12800138000", "mobile number"),
        (Kind.RESIDENT_ID, "110105194912310021", "last character"),
        (Kind.RESIDENT_ID, "110105194913310021", "date of birth"),
        (Kind.RESIDENT_ID, "1101051949123100", "18-character"),
    ],
)
def test_invalid_values_are_refused_with_a_clear_message(kind, raw, message):
    with pytest.raises(ValidationError) as refused:
        validate_value(element(kind), raw)
    assert message in refused.value.messages[0]


def test_lengths_ranges_and_patterns_are_enforced():
    name = element(Kind.TEXT, min_length=2, max_length=5, pattern=r"[A-Za-z]+")
    assert validate_value(name, "Wang") == "Wang"
    with pytest.raises(ValidationError, match="at least 2"):
        validate_value(name, "W")
    with pytest.raises(ValidationError, match="no more than 5"):
        validate_value(name, "Wangfang")
    with pytest.raises(ValidationError, match="format"):
        validate_value(name, "W4ng")
    area = element(Kind.DECIMAL, min_value=Decimal(1), max_value=Decimal("1000.5"))
    with pytest.raises(ValidationError, match="at least 1"):
        validate_value(area, "0.5")
    with pytest.raises(ValidationError, match=r"no greater than 1000\.5"):
        validate_value(area, "2000")


def test_empty_answers_clean_to_none_whatever_the_kind():
    for kind in Kind.values:
        assert validate_value(element(kind), "  ") is None
        assert validate_value(element(kind), None) is None


def test_resident_id_checksum_and_birth_date():
    assert resident_id_is_valid("11010519491231002X")
    assert resident_id_is_valid("11010519491231002x")
    assert not resident_id_is_valid("110105194912310021")  # wrong check character
    assert not resident_id_is_valid("110105209912310024")  # born in the future
    assert not resident_id_is_valid("")


def test_sensitive_values_are_masked():
    id_number = element(Kind.RESIDENT_ID, sensitivity="sensitive")
    assert mask_value(id_number, "11010519491231002X") == "110105********002X"
    phone = element(Kind.PHONE, sensitivity="sensitive")
    assert mask_value(phone, "13800138000") == "138****8000"
    public = element(Kind.BOOLEAN, sensitivity="public")
    assert mask_value(public, True) == "Yes"
