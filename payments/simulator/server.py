"""A payment provider simulator: a separate HTTP server standing in for GOV.UK Pay, Alipay or a
bank, so the portal's provider code runs against a real process over HTTP (never a mock).

    python -m payments.simulator --port 8010 --secret S --webhook-url http://127.0.0.1:8000/payments/webhooks/simulator

It keeps its payments in memory. The API (amounts in fen):

    POST /v1/payments               {amount, reference, description, return_url, webhooks?}
                                    with Idempotency-Key: the same key gives the same payment
    GET  /v1/payments/<id>          the payment and its state
    POST /v1/payments/<id>/refunds  {amount, refund_amount_available}: 412 when the quoted
                                    amount is no longer what is refundable
    GET  /v1/report?date=YYYY-MM-DD the payments created that day (Asia/Shanghai)
    GET  /pay/<id>                  the hosted payment page: Pay, Decline and Cancel buttons;
                                    then a 303 back to the return_url

Webhooks are JSON, signed with HMAC-SHA256 over the raw body (header Pay-Signature), each with
its own event_id. How they arrive is chosen per payment (`webhooks` on create, or `?webhooks=` on
the hosted page) or for all (POST /admin/config {"delivery": ...}):

    after         after the payer is sent back (default), `delay` seconds later
    before        before the payer is sent back
    twice         before the payer is sent back, and the same event again after
    late          `late_delay` seconds after the payer is sent back
    out_of_order  the final state first, then the stale "started" event
    none          no webhook at all (the portal asks on return)

Test hooks: POST /admin/config {webhook_url, delivery, delay, late_delay}; POST
/admin/payments/<id> {state?, amount?, refunded?} changes a payment behind the portal's back
(a reconciliation mismatch); POST /admin/payments/<id>/redeliver sends its events again;
GET /admin/deliveries lists what was delivered, with the portal's answers.
"""

import argparse
import datetime
import html
import json
import logging
import threading
import time
import uuid
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from payments.signing import SIGNATURE_HEADER, sign

logger = logging.getLogger("payments.simulator")
LOCAL = zoneinfo.ZoneInfo("Asia/Shanghai")
DELIVERIES = ("after", "before", "twice", "late", "out_of_order", "none")
FINAL = ("success", "failed", "cancelled", "error")
STYLE = (
    "body{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
    "button{font-size:1.1rem;margin:0 .5rem .5rem 0;padding:.5rem 1rem}"
)


class Store:
    """The simulator's books, in memory, behind one lock."""

    def __init__(self, *, secret: str, webhook_url: str, public_url: str) -> None:
        self.lock = threading.Lock()
        self.secret = secret
        self.public_url = public_url.rstrip("/")
        self.config: dict[str, Any] = {"webhook_url": webhook_url, "delivery": "after", "delay": 0.3, "late_delay": 3.0}
        self.payments: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.refunds_by_key: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.deliveries: list[dict[str, Any]] = []

    def public(self, payment: dict[str, Any]) -> dict[str, Any]:
        return {
            "payment_id": payment["payment_id"],
            "reference": payment["reference"],
            "description": payment["description"],
            "amount": payment["amount"],
            "refunded": payment["refunded"],
            "refund_amount_available": payment["amount"] - payment["refunded"] if payment["state"] == "success" else 0,
            "state": payment["state"],
            "created": payment["created"],
            "next_url": f"{self.public_url}/pay/{payment['payment_id']}",
        }

    def event(self, payment: dict[str, Any]) -> dict[str, Any]:
        """Records the payment's current state as a new event (call under the lock)."""
        event = {
            "event_id": f"evt_{uuid.uuid4().hex}",
            "payment_id": payment["payment_id"],
            "reference": payment["reference"],
            "state": payment["state"],
            "amount": payment["amount"],
            "created": datetime.datetime.now(LOCAL).isoformat(),
        }
        self.events.setdefault(payment["payment_id"], []).append(event)
        return event

    def deliver(self, event: dict[str, Any]) -> None:
        url = self.config["webhook_url"]
        if not url:
            return
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self.secret)}
        try:
            status = requests.post(url, data=body, headers=headers, timeout=10).status_code
        except requests.RequestException as exc:
            status = 0
            logger.warning("webhook to %s failed: %s", url, exc)
        with self.lock:
            self.deliveries.append({"event_id": event["event_id"], "state": event["state"], "status": status})

    def deliver_later(self, events: list[dict[str, Any]], delay: int | float) -> None:
        def run() -> None:
            time.sleep(delay)
            for event in events:
                self.deliver(event)

        threading.Thread(target=run, daemon=True).start()


class Handler(BaseHTTPRequestHandler):
    server: "SimulatorServer"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)

    @property
    def store(self) -> Store:
        return self.server.store

    # --- plumbing ----------------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self._body() or b"{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _split(self) -> tuple[list[str], dict[str, list[str]]]:
        parts = urlsplit(self.path)
        return [part for part in parts.path.split("/") if part], parse_qs(parts.query)

    def _payment(self, payment_id: str) -> dict[str, Any] | None:
        return self.store.payments.get(payment_id)

    # --- routes ------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path, query = self._split()
        if path == ["health"]:
            return self._json(200, {"ok": True})
        if path[:2] == ["v1", "payments"] and len(path) == 3:
            with self.store.lock:
                payment = self._payment(path[2])
                if payment is None:
                    return self._json(404, {"error": "no such payment"})
                return self._json(200, self.store.public(payment))
        if path == ["v1", "report"]:
            day = (query.get("date") or [""])[0]
            with self.store.lock:
                rows = [self.store.public(p) for p in self.store.payments.values() if p["created"][:10] == day]
            return self._json(200, {"date": day, "payments": rows})
        if path[:1] == ["pay"] and len(path) == 2:
            return self._hosted_page(path[1], query)
        if path == ["admin", "deliveries"]:
            with self.store.lock:
                return self._json(200, {"deliveries": list(self.store.deliveries)})
        return self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        path, query = self._split()
        if path == ["v1", "payments"]:
            return self._create(query)
        if path[:2] == ["v1", "payments"] and len(path) == 4 and path[3] == "refunds":
            return self._refund(path[2])
        if path[:1] == ["pay"] and len(path) == 2:
            return self._pay(path[1])
        if path == ["admin", "config"]:
            body = self._json_body()
            with self.store.lock:
                for key in ("webhook_url", "delivery", "delay", "late_delay"):
                    if key in body:
                        self.store.config[key] = body[key]
                return self._json(200, self.store.config)
        if path[:2] == ["admin", "payments"] and len(path) == 3:
            body = self._json_body()
            with self.store.lock:
                payment = self._payment(path[2])
                if payment is None:
                    return self._json(404, {"error": "no such payment"})
                for key in ("state", "amount", "refunded"):
                    if key in body:
                        payment[key] = body[key]
                return self._json(200, self.store.public(payment))
        if path[:2] == ["admin", "payments"] and len(path) == 4 and path[3] == "redeliver":
            with self.store.lock:
                events = list(self.store.events.get(path[2], []))
            for event in events:
                self.store.deliver(event)
            return self._json(200, {"redelivered": len(events)})
        return self._json(404, {"error": "not found"})

    def _create(self, query: dict[str, list[str]]) -> None:
        body = self._json_body()
        key = self.headers.get("Idempotency-Key", "").strip()
        amount = body.get("amount")
        if not key:
            return self._json(400, {"error": "send an Idempotency-Key header"})
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            return self._json(422, {"error": "amount must be a positive whole number of fen"})
        delivery = body.get("webhooks") or (query.get("webhooks") or [""])[0]
        with self.store.lock:
            if key in self.store.by_key:
                return self._json(200, self.store.public(self.store.payments[self.store.by_key[key]]))
            payment_id = f"sim_{uuid.uuid4().hex[:20]}"
            payment: dict[str, Any] = {
                "payment_id": payment_id,
                "reference": str(body.get("reference", "")),
                "description": str(body.get("description", "")),
                "return_url": str(body.get("return_url", "")),
                "amount": amount,
                "refunded": 0,
                "state": "created",
                "delivery": delivery if delivery in DELIVERIES else "",
                "created": datetime.datetime.now(LOCAL).isoformat(),
            }
            self.store.payments[payment_id] = payment
            self.store.by_key[key] = payment_id
            return self._json(201, self.store.public(payment))

    def _hosted_page(self, payment_id: str, query: dict[str, list[str]]) -> None:
        with self.store.lock:
            payment = self._payment(payment_id)
            if payment is None:
                return self._send(404, b"<!doctype html><title>Not found</title><p>No such payment.</p>", "text/html")
            chosen = (query.get("webhooks") or [""])[0]
            if chosen in DELIVERIES:
                payment["delivery"] = chosen
            started = None
            if payment["state"] == "created":
                payment["state"] = "started"
                started = self.store.event(payment)
            view = dict(payment)
        if started is not None and (view["delivery"] or self.store.config["delivery"]) not in ("none", "out_of_order"):
            self.store.deliver_later([started], 0)
        yuan, fen = divmod(view["amount"], 100)
        final = view["state"] in FINAL
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pay {html.escape(view["reference"])} — payment simulator</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{STYLE}</style>
</head><body><main>
<h1>Payment simulator</h1>
<p>This page stands in for a payment provider. No money moves.</p>
<dl><dt>Reference</dt><dd>{html.escape(view["reference"])}</dd>
<dt>For</dt><dd>{html.escape(view["description"])}</dd>
<dt>Amount</dt><dd id="amount">¥{yuan:,}.{fen:02d}</dd></dl>
{
            "<p>This payment is " + html.escape(view["state"]) + ".</p>"
            if final
            else f'''<form method="post" action="/pay/{payment_id}">
<button name="action" value="pay">Pay ¥{yuan:,}.{fen:02d}</button>
<button name="action" value="fail">Decline the card</button>
<button name="action" value="cancel">Cancel payment</button>
</form>'''
        }
</main></body></html>"""
        return self._send(200, page.encode(), "text/html; charset=utf-8")

    def _pay(self, payment_id: str) -> None:
        form = parse_qs(self._body().decode())
        action = (form.get("action") or [""])[0]
        outcome = {"pay": "success", "fail": "failed", "cancel": "cancelled"}.get(action)
        with self.store.lock:
            payment = self._payment(payment_id)
            if payment is None or outcome is None:
                return self._send(400, b"<!doctype html><title>Bad request</title><p>Bad request.</p>", "text/html")
            if payment["state"] in FINAL:
                return self._send(
                    409, b"<!doctype html><title>Finished</title><p>This payment is already finished.</p>", "text/html"
                )
            payment["state"] = outcome
            event = self.store.event(payment)
            stale = [e for e in self.store.events.get(payment_id, []) if e["state"] == "started"]
            delivery = payment["delivery"] or self.store.config["delivery"]
            # Seconds, as numbers from the JSON config.
            delay, late_delay = self.store.config["delay"], self.store.config["late_delay"]
            return_url = payment["return_url"]
        if delivery in ("before", "twice"):
            self.store.deliver(event)
        if delivery in ("after", "twice"):
            self.store.deliver_later([event], delay)
        elif delivery == "late":
            self.store.deliver_later([event], late_delay)
        elif delivery == "out_of_order":
            self.store.deliver_later([event, *stale], delay)
        return self._send(303, b"", "text/plain", {"Location": return_url or "/"})

    def _refund(self, payment_id: str) -> None:
        body = self._json_body()
        key = self.headers.get("Idempotency-Key", "").strip()
        amount, quoted = body.get("amount"), body.get("refund_amount_available")
        with self.store.lock:
            payment = self._payment(payment_id)
            if payment is None:
                return self._json(404, {"error": "no such payment"})
            if key and key in self.store.refunds_by_key:
                return self._json(200, self.store.refunds_by_key[key])
            if payment["state"] != "success":
                return self._json(400, {"error": "only a successful payment can be refunded"})
            available = payment["amount"] - payment["refunded"]
            if quoted != available:
                return self._json(
                    412, {"error": "refund_amount_available mismatch", "refund_amount_available": available}
                )
            if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= available:
                return self._json(400, {"error": "amount must be between 1 fen and the amount available"})
            payment["refunded"] += amount
            refund = {"refund_id": f"rf_{uuid.uuid4().hex[:20]}", "amount": amount, "state": "success"}
            if key:
                self.store.refunds_by_key[key] = refund
            return self._json(202, refund)


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: Store) -> None:
        super().__init__(address, Handler)
        self.store = store


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--webhook-url", default="")
    parser.add_argument("--public-url", default="", help="how browsers reach this server (default: host and port)")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="simulator %(message)s")
    public = arguments.public_url or f"http://{arguments.host}:{arguments.port}"
    store = Store(secret=arguments.secret, webhook_url=arguments.webhook_url, public_url=public)
    server = SimulatorServer((arguments.host, arguments.port), store)
    print(f"payment simulator on {public}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
