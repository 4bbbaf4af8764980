"""What an application costs: the version's fee rows worked out against the answers, in fen.

Administrators write prices in yuan with two places (`Fee.amount`); they become whole fen here,
once, and from then on every amount that is charged, refunded or printed is an integer of fen.
A fee is fixed, or charged per unit of a number answer (`per_unit`, e.g. copies), and is not
charged when its `exempt_when` condition holds for the answers (services/conditions.py).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from lib.text import in_language
from services import conditions
from services.models import Fee, ServiceVersion

FEN_PER_YUAN = 100


class FeeError(ValueError):
    """A fee that cannot be charged as written (not a whole number of fen)."""


def fen_of_yuan(amount: Decimal) -> int:
    """Exact yuan with at most two places → fen; anything finer is refused, never rounded."""
    fen = amount.scaleb(2)
    if fen != fen.to_integral_value():
        raise FeeError(_("%(amount)s yuan is not a whole number of fen.") % {"amount": amount})
    return int(fen)


def format_fen(fen: int) -> str:
    """¥1,234.50 for 123450 fen, by integer division (no floating point anywhere)."""
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}¥{yuan:,}.{rest:02d}"


@dataclass(frozen=True)
class FeeLine:
    label_en: str
    label_zh: str
    unit_fen: int
    units: int
    exempt: bool
    refund_on_withdrawal: bool
    refund_on_rejection: bool

    @property
    def amount_fen(self) -> int:
        return 0 if self.exempt else self.unit_fen * self.units

    @property
    def label(self) -> str:
        return in_language(self.label_en, self.label_zh)

    @property
    def amount_text(self) -> str:
        return format_fen(self.amount_fen)


@dataclass(frozen=True)
class FeeQuote:
    lines: tuple[FeeLine, ...]

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def total_text(self) -> str:
        return format_fen(self.total_fen)

    def refundable_on(self, outcome: str) -> int:
        """Fen the service's rules give back when an application is `withdrawn` or `rejected`."""
        flag = {"withdrawn": "refund_on_withdrawal", "rejected": "refund_on_rejection"}[outcome]
        return sum(line.amount_fen for line in self.lines if getattr(line, flag))


def _units(fee: Fee, data: Mapping[str, Any]) -> int:
    if not fee.per_unit:
        return 1
    answer = data.get(fee.per_unit)
    if isinstance(answer, bool) or answer in (None, ""):
        return 0
    try:
        units = Decimal(str(answer))
    except ArithmeticError:
        return 0
    # A per-unit fee counts whole units: a fractional answer is charged for its whole part.
    return max(int(units), 0)


def fee_lines(fees: Iterable[Fee], data: Mapping[str, Any]) -> FeeQuote:
    lines = []
    for fee in fees:
        lines.append(
            FeeLine(
                label_en=fee.label_en,
                label_zh=fee.label_zh,
                unit_fen=fen_of_yuan(fee.amount),
                units=_units(fee, data),
                exempt=bool(fee.exempt_when) and conditions.evaluate(fee.exempt_when, data),
                refund_on_withdrawal=fee.refund_on_withdrawal,
                refund_on_rejection=fee.refund_on_rejection,
            )
        )
    return FeeQuote(lines=tuple(lines))


def fee_quote(version: ServiceVersion, data: Mapping[str, Any] | None) -> FeeQuote:
    """The version's fees for these answers (every row, the exempt ones at 0)."""
    return fee_lines(version.fees.order_by("pk"), data or {})


@dataclass(frozen=True)
class ServiceFees:
    service_name: str
    quote: FeeQuote


def fees_of(versions: Iterable[ServiceVersion], data: Mapping[str, Any] | None) -> list[ServiceFees]:
    """The fees of each version that has any, for the same answers (a draft or bundle's)."""
    found = []
    for version in versions:
        quote = fee_quote(version, data)
        if quote.lines:
            found.append(ServiceFees(service_name=version.service.name, quote=quote))
    return found
