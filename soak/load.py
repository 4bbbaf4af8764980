"""The load: citizens applying through the HTTP API (as in the bench: a draft with values, a
vault document attached, submit with an Idempotency-Key) and clerks claiming and approving
through the workbench API, while faults come and go.

A citizen whose submit gets no answer, or a 5xx, sends the same request again with the same
Idempotency-Key (what a careful client does); only a 200/201 counts as accepted. Every accepted
submission is recorded with what the API said, to be found in the database afterwards.
"""

import logging
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import requests

from bench.flow import BOUNDARY, multipart, unique_pdf

logger = logging.getLogger("soak")

# Two services: a market review that ends in a certificate, and a tax registration whose
# automatic first step (on the tax department's queue) assigns a taxpayer number.
BUSINESS = "business-licence"
TAX = "tax-registration"
SUBMIT_ATTEMPTS = 8


@dataclass
class Accepted:
    citizen: str
    service: str
    group_id: int
    key: str
    number: str
    status: int
    attempts: int
    # Wall-clock times (time.time()): the first submit request sent, and the success answer read.
    sent_at: float = 0.0
    answered_at: float = 0.0


@dataclass
class Tally:
    started: int = 0
    submitted: int = 0  # flows that reached the submit request
    accepted: list[Accepted] = field(default_factory=list)
    unconfirmed: list[dict[str, Any]] = field(default_factory=list)  # submit never answered 2xx
    errors: Counter = field(default_factory=Counter)  # by step and status, before the submit
    decisions: int = 0
    claims: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def as_dict(self) -> dict[str, Any]:
        return {
            "flows_started": self.started,
            "submitted": self.submitted,
            "accepted": len(self.accepted),
            "unconfirmed": len(self.unconfirmed),
            "errors_before_submit": dict(self.errors),
            "claims": self.claims,
            "decisions": self.decisions,
        }


class Refused(Exception):
    def __init__(self, step: str, status: int | str) -> None:
        super().__init__(f"{step}: {status}")
        self.step = step
        self.status = status


def session(person: dict[str, Any]) -> requests.Session:
    http = requests.Session()
    http.cookies.set("sessionid", person["sessionid"], domain="127.0.0.1")
    http.cookies.set("csrftoken", person["csrftoken"], domain="127.0.0.1")
    http.headers["X-CSRFToken"] = person["csrftoken"]
    return http


def _call(http: requests.Session, method: str, url: str, step: str, ok: tuple[int, ...], **kwargs) -> dict:
    try:
        response = http.request(method, url, timeout=15, **kwargs)
    except requests.RequestException as exc:
        raise Refused(step, type(exc).__name__) from None
    if response.status_code not in ok:
        raise Refused(step, response.status_code)
    return response.json() if response.content else {}


def apply_once(http: requests.Session, base: str, *, service: str, serial: int, lease_pdf: bytes, tally: Tally,
               citizen: dict[str, Any]) -> None:  # fmt: skip
    draft = _call(http, "POST", f"{base}/api/drafts/", "draft create", (201,), json={"service": service})
    group = int(draft["id"])
    answers: dict[str, Any] = {
        "business.name": f"Soak Noodle Bar {serial}",
        "business.legal_form": "individual",
        "business.address": f"{serial % 900 + 1} Renmin Road, Dongcheng District, Beijing",
    }
    if service == BUSINESS:
        body = multipart("lease-agreement", "lease.pdf", unique_pdf(lease_pdf))
        lease = _call(
            http, "POST", f"{base}/api/vault/documents/", "vault upload", (200, 201), data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )  # fmt: skip
        attachments = {"id-card": citizen["id-card"], "lease-agreement": int(lease["id"])}
    else:
        # Already in the vault (the first page fills up with leases, so the ids come from the seed).
        attachments = {"business-licence": citizen["business-licence"]}
        answers["business.has_employees"] = False
    revision = None
    for document_type, document in attachments.items():
        attached = _call(
            http, "POST", f"{base}/api/drafts/{group}/documents/", "draft attach", (200,),
            json={"document_type": document_type, "document": document},
        )  # fmt: skip
        revision = attached.get("revision")
    _call(
        http, "PATCH", f"{base}/api/drafts/{group}/", "draft answer", (200,),
        json={"revision": revision, "data": answers},
    )  # fmt: skip

    key = str(uuid.uuid4())
    with tally.lock:
        tally.submitted += 1
    last: object = None
    sent_at = time.time()
    for attempt in range(1, SUBMIT_ATTEMPTS + 1):
        try:
            response = http.post(f"{base}/api/drafts/{group}/submit/", headers={"Idempotency-Key": key}, timeout=15)
        except requests.RequestException as exc:
            last = type(exc).__name__
        else:
            if response.status_code in (200, 201):
                body = response.json()
                with tally.lock:
                    tally.accepted.append(
                        Accepted(
                            citizen["username"],
                            service,
                            group,
                            key,
                            body.get("number") or "",
                            response.status_code,
                            attempt,
                            sent_at=sent_at,
                            answered_at=time.time(),
                        )
                    )
                return
            last = response.status_code
            if response.status_code < 500:
                break  # a refusal (409/422) will not change by asking again
        time.sleep(min(2**attempt * 0.25, 5))
    with tally.lock:
        tally.unconfirmed.append({"citizen": citizen["username"], "group_id": group, "key": key, "last": str(last)})


def citizen_loop(person: dict[str, Any], base: str, lease_pdf: bytes, tally: Tally, stop: threading.Event,
                 index: int, think_seconds: float = 0) -> None:  # fmt: skip
    http = session(person)
    serial = index * 100_000
    while not stop.is_set():
        serial += 1
        service = BUSINESS if serial % 2 else TAX
        with tally.lock:
            tally.started += 1
        try:
            apply_once(http, base, service=service, serial=serial, lease_pdf=lease_pdf, tally=tally, citizen=person)
            if think_seconds:
                stop.wait(think_seconds)
        except Refused as refused:
            with tally.lock:
                tally.errors[f"{refused.step}: {refused.status}"] += 1
            stop.wait(0.5)  # the stack is probably recovering from a fault


def clerk_loop(person: dict[str, str], base: str, tally: Tally, stop: threading.Event) -> None:
    """Claims the oldest unclaimed items of the clerk's department and approves them; also
    finishes anything left claimed by an earlier attempt that failed halfway."""
    http = session(person)
    while not stop.is_set():
        worked = 0
        for tab in ("mine", "unclaimed"):
            try:
                page = _call(http, "GET", f"{base}/api/workbench/items/?tab={tab}&limit=20", "queue", (200,))
            except Refused:
                stop.wait(0.5)
                continue
            for item in page.get("results", []):
                if stop.is_set():
                    return
                worked += 1
                try:
                    if item["status"] == "open":
                        _call(http, "POST", f"{base}/api/workbench/items/{item['id']}/claim/", "claim", (200, 409))
                        with tally.lock:
                            tally.claims += 1
                    _call(
                        http, "POST", f"{base}/api/workbench/items/{item['id']}/decide/", "decide", (200, 409),
                        json={"decision": "approved", "note": "Soak: approved."},
                    )  # fmt: skip
                    with tally.lock:
                        tally.decisions += 1
                except Refused:
                    stop.wait(0.2)
        if not worked:
            stop.wait(0.5)


def accepted_as_dicts(tally: Tally) -> list[dict[str, Any]]:
    return [asdict(a) for a in tally.accepted]
