"""The provider interface (docs/payments.md): what the portal needs from anyone who takes
money for it. Amounts cross it as integers of fen; states are ours (Payment.State values).

An implementation translates its provider's API into these calls and dataclasses; nothing else
in the portal knows which provider is in use.
"""

import datetime
from dataclasses import dataclass
from typing import Protocol


class ProviderError(Exception):
    """The provider could not be reached or refused in a way the payer cannot fix."""


class RefundConflict(ProviderError):
    """The provider's amount still refundable is not the one the request quoted (HTTP 412)."""


class WebhookRefused(ValueError):
    """A notification that is not from the provider or cannot be read: nothing changes."""


@dataclass(frozen=True)
class ProviderPayment:
    provider_id: str
    state: str  # a Payment.State value
    amount_fen: int
    reference: str = ""
    next_url: str = ""
    refunded_fen: int = 0


@dataclass(frozen=True)
class ProviderRefund:
    provider_refund_id: str
    state: str  # a Refund.State value


@dataclass(frozen=True)
class Notification:
    """A verified webhook: which event, about which payment, saying what."""

    event_id: str
    provider_id: str
    reference: str
    state: str
    amount_fen: int


class PaymentProvider(Protocol):
    name: str

    def create_payment(
        self, *, reference: str, amount_fen: int, description: str, return_url: str, idempotency_key: str
    ) -> ProviderPayment:
        """Creates the charge (the same key twice gives the same charge) and the hosted page."""
        ...

    def get_payment(self, provider_id: str) -> ProviderPayment: ...

    def refund(self, *, provider_id: str, amount_fen: int, available_fen: int, refund_reference: str) -> ProviderRefund:
        """Refunds part or all; raises RefundConflict when `available_fen` is no longer true."""
        ...

    def notification(self, *, body: bytes, headers: dict[str, str]) -> Notification:
        """Verifies a webhook on its raw body and reads it; raises WebhookRefused."""
        ...

    def report(self, *, day: datetime.date) -> list[ProviderPayment]:
        """Every payment the provider holds that was created on `day` (Asia/Shanghai)."""
        ...
