"""Helpers for the payments tests: a fee-paying service, applications moved through the real
engine, and the payment provider simulator as a separate process on a free port."""

import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from services.actions import version_publish
from services.models import Fee, FormField, Service, ServiceVersion
from tests.support.processes import free_port, wait_until
from workflows.models import Application, WorkItem
from workflows.tests.factories import ELEMENTS, application_submit, departments, element

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-webhook-secret"

FEE_ROUTE: dict[str, Any] = {
    "steps": [
        {"key": "pay", "department": "market", "kind": "payment", "label_en": "Fees"},
        {"key": "licence", "department": "market", "kind": "review", "after": ["pay"], "sla_days": 5},
    ]
}


def fee_version(*, fees: list[dict[str, Any]] | None = None, route: dict[str, Any] | None = None) -> ServiceVersion:
    """A published service whose route starts with a payment step (default: one ¥120.50 fee)."""
    found = departments()
    code = f"fee-{uuid.uuid4().hex[:8]}"
    service = Service.objects.create(
        code=code,
        lead_department=found["market"],
        name_en=f"Service {code}",
        name_zh=f"服务 {code}",
        category="business",
    )
    version = ServiceVersion.objects.create(service=service, number=1, route=route or FEE_ROUTE)
    for order, key in enumerate(ELEMENTS):
        FormField.objects.create(version=version, element=element(key), order=order, required=False)
    for fee in fees if fees is not None else [{"label_en": "Licence fee", "amount": Decimal("120.50")}]:
        Fee.objects.create(version=version, **{"label_zh": "费", **fee})
    return version_publish(version=version, actor=None)


def submit_paying(capture, *, applicant, version: ServiceVersion | None = None, data=None) -> Application:
    version = version or fee_version()
    with capture(execute=True):
        application = application_submit(applicant=applicant, version=version, data=data)
    application.refresh_from_db()
    return application


def payment_item(application: Application) -> WorkItem:
    return application.work_items.get(kind=WorkItem.Kind.PAYMENT)


class Simulator:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def start(self, webhook_url: str = "") -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "payments.simulator", "--port", str(self.port), "--secret", SECRET]
            + (["--webhook-url", webhook_url] if webhook_url else []),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            try:
                return requests.get(f"{self.url}/health", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(answers, timeout=20, message="payment simulator answering")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def configure(self, **config: Any) -> dict:
        return requests.post(f"{self.url}/admin/config", json=config, timeout=5).json()

    def alter(self, provider_id: str, **changes: Any) -> dict:
        return requests.post(f"{self.url}/admin/payments/{provider_id}", json=changes, timeout=5).json()

    def deliveries(self) -> list[dict]:
        return requests.get(f"{self.url}/admin/deliveries", timeout=5).json()["deliveries"]

    def payment(self, provider_id: str) -> dict:
        return requests.get(f"{self.url}/v1/payments/{provider_id}", timeout=5).json()

    def press(self, provider_id: str, action: str) -> requests.Response:
        """What the payer's browser does on the hosted page (without following the redirect)."""
        requests.get(f"{self.url}/pay/{provider_id}", timeout=5)
        return requests.post(
            f"{self.url}/pay/{provider_id}", data={"action": action}, allow_redirects=False, timeout=15
        )


@pytest.fixture
def simulator(settings) -> Iterator[Simulator]:
    """The simulator, started as its own process; the portal is pointed at it."""
    running = Simulator(free_port())
    running.start()
    settings.PAYMENT_PROVIDER = "simulator"
    settings.PAYMENT_SIMULATOR_URL = running.url
    settings.PAYMENT_WEBHOOK_SECRET = SECRET
    try:
        yield running
    finally:
        running.stop()
