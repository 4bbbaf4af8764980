"""One citizen's application through the real API, shared by the load generator (locust) and
the in-process SQL capture of the ceiling scenario, so both do exactly the same thing.

1. start a draft for the business licence (prefilled from the verified profile);
2. upload the lease to the vault (multipart, unique bytes);
3. attach the ID card already in the vault and the new lease;
4. answer the business questions (PATCH, with the revision);
5. submit with an Idempotency-Key.

`examine_once` is a clerk's work on one review step of it, through the same pages and API a
clerk uses: open the item (a data-access record), claim it, reveal a protected field (another),
open each attached document the department may open (one each), approve. The ceiling captures
both, so its replay is one application's whole work, not only the citizen's part.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SERVICE = "business-licence"
BOUNDARY = "----onedoor-bench-boundary"

# call(method, path, name, json=..., body=..., content_type=..., headers=...) -> (status, parsed JSON or {})
Call = Callable[..., tuple[int, dict[str, Any]]]


class FlowError(Exception):
    def __init__(self, step: str, status: int, body: Any) -> None:
        super().__init__(f"{step}: HTTP {status}: {str(body)[:300]}")
        self.step = step


@dataclass
class FlowResult:
    group_id: int | None = None
    number: str | None = None
    key: str = ""
    status: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def multipart(document_type: str, filename: str, content: bytes) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="document_type"\r\n\r\n{document_type}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: application/pdf\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{BOUNDARY}--\r\n".encode()


def unique_pdf(template: bytes) -> bytes:
    """The template PDF with a unique comment before its last %%EOF: new bytes, still a complete
    PDF (nothing may follow %%EOF: the vault refuses that as a polyglot)."""
    end = template.rindex(b"%%EOF")
    return template[:end] + f"%bench {uuid.uuid4().hex}\n".encode() + template[end:]


def id_card_of(call: Call) -> int:
    status, body = call("GET", "/api/vault/documents/?limit=100", "vault list")
    if status != 200:
        raise FlowError("vault list", status, body)
    for document in body.get("results", []):
        if document["document_type"] == "id-card":
            return int(document["id"])
    raise FlowError("vault list", status, "no id-card in the vault")


def apply_once(call: Call, *, id_card: int, lease_pdf: bytes, serial: int) -> FlowResult:
    result = FlowResult(key=str(uuid.uuid4()))
    status, draft = call("POST", "/api/drafts/", "draft create", json={"service": SERVICE})
    if status != 201:
        raise FlowError("draft create", status, draft)
    if not draft.get("data", {}).get("person.full_name"):
        raise FlowError("draft create", status, "the draft was not prefilled from the verified profile")
    group = int(draft["id"])
    result.group_id = group
    body = multipart("lease-agreement", "lease.pdf", unique_pdf(lease_pdf))
    kind = f"multipart/form-data; boundary={BOUNDARY}"
    status, lease = call("POST", "/api/vault/documents/", "vault upload", body=body, content_type=kind)
    if status not in (200, 201):
        raise FlowError("vault upload", status, lease)
    for document_type, document in (("id-card", id_card), ("lease-agreement", int(lease["id"]))):
        status, answer = call(
            "POST", f"/api/drafts/{group}/documents/", "draft attach",
            json={"document_type": document_type, "document": document},
        )  # fmt: skip
        if status != 200:
            raise FlowError("draft attach", status, answer)
    answers = {
        "business.name": f"Bench Noodle Bar {serial}",
        "business.legal_form": "individual",
        "business.address": f"{serial % 900 + 1} Renmin Road, Dongcheng District, Beijing",
    }
    status, saved = call(
        "PATCH", f"/api/drafts/{group}/", "draft answer", json={"revision": answer.get("revision"), "data": answers}
    )
    if status != 200:
        raise FlowError("draft answer", status, saved)
    status, submitted = call("POST", f"/api/drafts/{group}/submit/", "submit", headers={"Idempotency-Key": result.key})
    result.status = status
    if status not in (200, 201):
        raise FlowError("submit", status, submitted)
    result.number = submitted.get("number")
    return result


def examine_once(call: Call, *, item_id: int, reveal: str | None, documents: list[int]) -> None:
    """A clerk's review of one work item, ending in an approval (see the module docstring)."""
    steps: list[tuple[str, str, str, dict[str, Any]]] = [
        ("GET", f"/workbench/items/{item_id}/", "clerk open item", {}),
        ("POST", f"/api/workbench/items/{item_id}/claim/", "clerk claim", {"json": {}}),
    ]
    if reveal:
        form = f"field={reveal}".encode()
        steps.append(
            ("POST", f"/workbench/items/{item_id}/reveal/", "clerk reveal",
             {"body": form, "content_type": "application/x-www-form-urlencoded"})
        )  # fmt: skip
    steps += [("GET", f"/workbench/items/{item_id}/documents/{d}/", "clerk open document", {}) for d in documents]
    steps.append(
        ("POST", f"/api/workbench/items/{item_id}/decide/", "clerk decide",
         {"json": {"decision": "approved", "note": "Bench: approved."}})
    )  # fmt: skip
    for method, path, name, options in steps:
        status, body = call(method, path, name, **options)
        if status != 200:
            raise FlowError(name, status, body)
