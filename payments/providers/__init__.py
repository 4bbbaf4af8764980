"""Payment providers by name (settings.PAYMENT_PROVIDER); see docs/payments.md to add one."""

from collections.abc import Callable

from django.conf import settings

from payments.providers.base import (
    Notification,
    PaymentProvider,
    ProviderError,
    ProviderPayment,
    ProviderRefund,
    RefundConflict,
    WebhookRefused,
)
from payments.providers.simulator import SimulatorProvider

PROVIDERS: dict[str, Callable[[], PaymentProvider]] = {
    "simulator": lambda: SimulatorProvider(
        base_url=settings.PAYMENT_SIMULATOR_URL, secret=settings.PAYMENT_WEBHOOK_SECRET
    ),
}


def provider_get(name: str | None = None) -> PaymentProvider:
    """The named provider, or the configured one."""
    return PROVIDERS[name or settings.PAYMENT_PROVIDER]()


__all__ = [
    "Notification",
    "PaymentProvider",
    "ProviderError",
    "ProviderPayment",
    "ProviderRefund",
    "RefundConflict",
    "WebhookRefused",
    "provider_get",
]
