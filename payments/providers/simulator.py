"""The provider implementation for the payment provider simulator (payments/simulator/), a
separate HTTP server with its own hosted payment page, report and signed webhooks.

Its API is shaped like GOV.UK Pay's: amounts in the smallest unit (fen), an Idempotency-Key on
create, `refund_amount_available` quoted on refunds and answered 412 when it is stale.
"""

import datetime
import json

import requests

from payments.providers.base import (
    Notification,
    ProviderError,
    ProviderPayment,
    ProviderRefund,
    RefundConflict,
    WebhookRefused,
)
from payments.signing import SIGNATURE_HEADER, signature_valid

TIMEOUT = (2, 5)  # connect, read (seconds)
STATES = {"created", "started", "submitted", "success", "failed", "cancelled", "error"}


def _payment(body: dict) -> ProviderPayment:
    state = str(body.get("state", ""))
    if state not in STATES:
        raise ProviderError(f"unknown state {state!r}")
    return ProviderPayment(
        provider_id=str(body["payment_id"]),
        state=state,
        amount_fen=int(body["amount"]),
        reference=str(body.get("reference", "")),
        next_url=str(body.get("next_url", "")),
        refunded_fen=int(body.get("refunded", 0)),
    )


class SimulatorProvider:
    name = "simulator"

    def __init__(self, *, base_url: str, secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.session = requests.Session()

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        try:
            return self.session.request(method, f"{self.base_url}{path}", timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise ProviderError(f"payment provider unreachable: {exc}") from exc

    def create_payment(
        self, *, reference: str, amount_fen: int, description: str, return_url: str, idempotency_key: str
    ) -> ProviderPayment:
        response = self._call(
            "POST",
            "/v1/payments",
            json={"amount": amount_fen, "reference": reference, "description": description, "return_url": return_url},
            headers={"Idempotency-Key": idempotency_key},
        )
        if response.status_code not in (200, 201):
            raise ProviderError(f"create refused: {response.status_code} {response.text[:200]}")
        return _payment(response.json())

    def get_payment(self, provider_id: str) -> ProviderPayment:
        response = self._call("GET", f"/v1/payments/{provider_id}")
        if response.status_code != 200:
            raise ProviderError(f"payment {provider_id}: {response.status_code}")
        return _payment(response.json())

    def refund(self, *, provider_id: str, amount_fen: int, available_fen: int, refund_reference: str) -> ProviderRefund:
        response = self._call(
            "POST",
            f"/v1/payments/{provider_id}/refunds",
            json={"amount": amount_fen, "refund_amount_available": available_fen},
            headers={"Idempotency-Key": refund_reference},
        )
        if response.status_code == 412:
            raise RefundConflict(response.text[:200])
        if response.status_code not in (200, 201, 202):
            raise ProviderError(f"refund refused: {response.status_code} {response.text[:200]}")
        body = response.json()
        return ProviderRefund(provider_refund_id=str(body["refund_id"]), state=str(body.get("state", "success")))

    def notification(self, *, body: bytes, headers: dict[str, str]) -> Notification:
        if not signature_valid(body, headers.get(SIGNATURE_HEADER, ""), self.secret):
            raise WebhookRefused("bad signature")
        try:
            event = json.loads(body)
            return Notification(
                event_id=str(event["event_id"]),
                provider_id=str(event["payment_id"]),
                reference=str(event.get("reference", "")),
                state=str(event["state"]),
                amount_fen=int(event["amount"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRefused(f"unreadable body: {exc}") from exc

    def report(self, *, day: datetime.date) -> list[ProviderPayment]:
        response = self._call("GET", "/v1/report", params={"date": day.isoformat()})
        if response.status_code != 200:
            raise ProviderError(f"report refused: {response.status_code}")
        return [_payment(row) for row in response.json()["payments"]]
