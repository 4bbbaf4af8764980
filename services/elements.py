"""Validation and display of data-element values (DESIGN §3).

Every form of every service validates a datum through `validate_value`, so a value means the
same thing everywhere and reaches departments in one shape:

==============  ==========================================================
kind            cleaned value (JSON-serialisable)
==============  ==========================================================
text, address   str (stripped)
number          int
decimal         str, plain notation ("350.50"), never a float
date            ISO string "YYYY-MM-DD"
boolean         bool
choice          str, one of the element's choice values
email           str
phone           str: mainland mobile "13800138000" or landline "010-12345678"
resident_id     str, 18 characters, upper-case check character
==============  ==========================================================

Empty input (None, "" or blanks) cleans to None: whether a value is required is the form's
business, not the element's.
"""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from services.models import DataElement, in_language

Kind = DataElement.Kind

MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Area code (3–4 digits, starting with 0) and a 7–8 digit number, optionally an extension.
LANDLINE = re.compile(r"^(0\d{2,3})-?([1-9]\d{6,7})(?:-(\d{1,6}))?$")
RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARACTERS = "10X98765432"
TRUE_WORDS = {"true", "yes", "y", "on", "1", "是"}
FALSE_WORDS = {"false", "no", "n", "off", "0", "否"}
TEXT_KINDS = {Kind.TEXT, Kind.ADDRESS, Kind.EMAIL, Kind.PHONE, Kind.RESIDENT_ID}


def resident_id_check_character(first_17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first_17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARACTERS[total % 11]


def _resident_id_birth_date(value: str) -> date | None:
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    if born.year < 1900 or born > timezone.localdate():
        return None
    return born


def resident_id_birth_date(value: str) -> date | None:
    """The date of birth a checksum-valid resident ID number holds (None for any other value)."""
    return _resident_id_birth_date(value.strip().upper()) if resident_id_is_valid(value) else None


def resident_id_sex(value: str) -> str | None:
    """ "male" or "female" from a checksum-valid resident ID number's 17th digit (odd: male), as
    GB 11643-1999 assigns it; None for any other value."""
    if not resident_id_is_valid(value):
        return None
    return "male" if int(value.strip()[16]) % 2 else "female"


def resident_id_is_valid(value: str) -> bool:
    """An 18-character mainland resident ID number with a valid birth date and check character."""
    if not isinstance(value, str):
        return False
    value = value.strip().upper()
    if not RESIDENT_ID.match(value):
        return False
    if _resident_id_birth_date(value) is None:
        return False
    return resident_id_check_character(value[:17]) == value[17]


def _is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []


def _check_length(element: DataElement, value: str) -> None:
    if element.min_length is not None and len(value) < element.min_length:
        raise ValidationError(
            _("Enter at least %(limit)d characters."), code="min_length", params={"limit": element.min_length}
        )
    if element.max_length is not None and len(value) > element.max_length:
        raise ValidationError(
            _("Enter no more than %(limit)d characters."), code="max_length", params={"limit": element.max_length}
        )


def _check_pattern(element: DataElement, value: str) -> None:
    if element.pattern and not re.fullmatch(element.pattern, value):
        raise ValidationError(_("Enter a value in the format described in the hint."), code="pattern")


def _check_range(element: DataElement, value: Decimal) -> None:
    if element.min_value is not None and value < element.min_value:
        raise ValidationError(
            _("Enter a number of at least %(limit)s."), code="min_value", params={"limit": _plain(element.min_value)}
        )
    if element.max_value is not None and value > element.max_value:
        raise ValidationError(
            _("Enter a number no greater than %(limit)s."),
            code="max_value",
            params={"limit": _plain(element.max_value)},
        )


def _plain(number: Decimal) -> str:
    """A Decimal in plain notation without trailing zeros after the point: 300.0000 → "300"."""
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _as_decimal(raw: Any, *, message: str, code: str) -> Decimal:
    if isinstance(raw, bool):
        raise ValidationError(message, code=code)
    if isinstance(raw, float):
        raw = repr(raw)
    text = str(raw).strip().replace(",", "").replace("，", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError(message, code=code) from None
    if not number.is_finite():
        raise ValidationError(message, code=code)
    return number


def _clean_number(element: DataElement, raw: Any) -> int:
    number = _as_decimal(raw, message=_("Enter a whole number, like 12."), code="invalid_number")
    if number != number.to_integral_value():
        raise ValidationError(_("Enter a whole number, like 12."), code="invalid_number")
    _check_range(element, number)
    return int(number)


def _clean_decimal(element: DataElement, raw: Any) -> str:
    number = _as_decimal(raw, message=_("Enter a number, like 120.5."), code="invalid_decimal")
    _check_range(element, number)
    return format(number, "f")


def _clean_date(raw: Any) -> str:
    if isinstance(raw, datetime):
        return (timezone.localtime(raw) if timezone.is_aware(raw) else raw).date().isoformat()  # local-date: made local
    if isinstance(raw, date):
        return raw.isoformat()
    try:
        return date.fromisoformat(str(raw).strip()).isoformat()
    except ValueError:
        raise ValidationError(_("Enter a real date, like 2024-03-27."), code="invalid_date") from None


def _clean_boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValidationError(_("Select yes or no."), code="invalid_boolean")


def _clean_choice(element: DataElement, raw: Any) -> str:
    value = str(raw).strip()
    allowed = [str(choice.get("value")) for choice in element.choices or []]
    if value not in allowed:
        raise ValidationError(_("Select one of the options."), code="invalid_choice")
    return value


def _clean_phone(raw: Any) -> str:
    value = re.sub(r"[\s()（）]", "", str(raw)).replace("—", "-").replace("－", "-")
    if value.startswith("+86"):
        value = value[3:].lstrip("-")
    digits = value.replace("-", "")
    if MOBILE.match(digits):
        return digits
    landline = LANDLINE.match(value)
    if landline:
        area, number, extension = landline.groups()
        return f"{area}-{number}" + (f"-{extension}" if extension else "")
    raise ValidationError(
        _("Enter a mobile number like 13800138000 or a landline number with its area code, like 010-12345678."),
        code="invalid_phone",
    )


def _clean_resident_id(raw: Any) -> str:
    value = str(raw).strip().upper().replace(" ", "")
    if not RESIDENT_ID.match(value):
        raise ValidationError(
            _("Enter an 18-character resident ID number: 17 digits, then a digit or X."), code="invalid_resident_id"
        )
    if _resident_id_birth_date(value) is None:
        raise ValidationError(
            _("This resident ID number does not contain a real date of birth. Check it."),
            code="invalid_resident_id_date",
        )
    if resident_id_check_character(value[:17]) != value[17]:
        raise ValidationError(
            _("This resident ID number is not valid: its last character does not match. Check for a typing mistake."),
            code="invalid_resident_id_checksum",
        )
    return value


def validate_value(element: DataElement, raw: Any) -> Any:
    """The cleaned value of `raw` for `element`, or ValidationError with a message for the applicant."""
    if _is_empty(raw):
        return None
    kind = element.kind
    if kind in (Kind.TEXT, Kind.ADDRESS):
        if not isinstance(raw, str | int | Decimal) or isinstance(raw, bool):
            raise ValidationError(_("Enter text."), code="invalid_text")
        value = " ".join(str(raw).split()) if kind == Kind.TEXT else str(raw).strip()
        _check_length(element, value)
        _check_pattern(element, value)
        return value
    if kind == Kind.NUMBER:
        return _clean_number(element, raw)
    if kind == Kind.DECIMAL:
        return _clean_decimal(element, raw)
    if kind == Kind.DATE:
        return _clean_date(raw)
    if kind == Kind.BOOLEAN:
        return _clean_boolean(raw)
    if kind == Kind.CHOICE:
        return _clean_choice(element, raw)
    if kind == Kind.EMAIL:
        value = str(raw).strip()
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError(
                _("Enter an e-mail address in the right format, like name@example.com."), code="invalid_email"
            ) from None
        _check_length(element, value)
        return value
    if kind == Kind.PHONE:
        value = _clean_phone(raw)
        _check_pattern(element, value)
        return value
    if kind == Kind.RESIDENT_ID:
        return _clean_resident_id(raw)
    raise ValidationError(_("This field cannot be filled in."), code="unknown_kind")


def choice_label(element: DataElement, value: Any) -> str:
    """The label of a choice value in the active language (the value itself if unknown)."""
    for choice in element.choices or []:
        if str(choice.get("value")) == str(value):
            return in_language(choice.get("label_en", str(value)), choice.get("label_zh", ""))
    return str(value)


def _mask_middle(text: str, keep_start: int, keep_end: int) -> str:
    if len(text) <= keep_start + keep_end:
        return "*" * len(text)
    return text[:keep_start] + "*" * (len(text) - keep_start - keep_end) + text[len(text) - keep_end :]


def mask_value(element: DataElement, value: Any) -> str:
    """How a value is shown to someone who only needs to recognise it.

    Resident ID numbers are always masked (110105********002X); other values are masked when
    the element is sensitive. Non-sensitive values are returned as display text.
    """
    if value is None or value == "":
        return ""
    text = str(value)
    if element.kind == Kind.RESIDENT_ID:
        return _mask_middle(text, 6, 4)
    if element.sensitivity != DataElement.Sensitivity.SENSITIVE:
        return display_value(element, value)
    if element.kind == Kind.PHONE:
        return _mask_middle(text, 3, 4)
    if element.kind == Kind.EMAIL and "@" in text:
        local, domain = text.split("@", 1)
        return _mask_middle(local, 1, 0) + "@" + domain
    if element.kind == Kind.DATE:
        return text[:4] + "-**-**"
    if element.kind in (Kind.NUMBER, Kind.DECIMAL, Kind.BOOLEAN, Kind.CHOICE):
        return "***"
    return _mask_middle(text, 1, 1 if len(text) > 3 else 0)


def display_value(element: DataElement, value: Any) -> str:
    """A value as a person reads it: Yes/No, the choice label, the text."""
    if value is None or value == "":
        return ""
    if element.kind == Kind.BOOLEAN:
        return _("Yes") if value is True or str(value).lower() in TRUE_WORDS else _("No")
    if element.kind == Kind.CHOICE:
        return choice_label(element, value)
    return str(value)
