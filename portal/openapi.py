"""The answers every API operation can give besides its own, added to the OpenAPI schema so it
describes every response we return (the API fuzzing test holds us to that):

- 403 when the operation needs a signed-in person and the caller is not signed in (session
  authentication answers 403, not 401, as it sends no WWW-Authenticate challenge);
- 404 for an object that does not exist or is not the caller's (outsiders get 404), as JSON
  from the API view, or as the HTML "page not found" when the path does not match at all
  (say, letters where an id goes);
- 400 for input that fails validation, on operations that take a body or query parameters.

And one rule of ours for query parameters: an optional parameter sent empty (`?offset=`, as an
HTML form sends an unfilled field) means "not given" (`allowEmptyValue`).

An operation's own documentation of these codes wins; this only fills gaps.
Registered in SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"].
"""

from typing import Any

DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
FIELD_ERRORS = {"type": "object", "additionalProperties": True}
HTML_PAGE = {"type": "string"}

NOT_SIGNED_IN = {
    "description": "Not signed in.",
    "content": {"application/json": {"schema": DETAIL}},
}
NOT_FOUND = {
    "description": "Not found, or not yours to see (outsiders always get 404).",
    "content": {"application/json": {"schema": DETAIL}, "text/html": {"schema": HTML_PAGE}},
}
INVALID = {
    "description": "Invalid input: {field: [messages]} or {detail: message}.",
    "content": {"application/json": {"schema": FIELD_ERRORS}},
}
METHODS = ("get", "put", "post", "patch", "delete")


def _requires_sign_in(operation: dict[str, Any]) -> bool:
    return {} not in operation.get("security", [{}])


def _parameters(operation: dict[str, Any], location: str) -> bool:
    return any(p.get("in") == location for p in operation.get("parameters", []))


def standard_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    for path_item in result.get("paths", {}).values():
        for method in METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if _requires_sign_in(operation):
                responses.setdefault("403", NOT_SIGNED_IN)
            if _parameters(operation, "path"):
                responses.setdefault("404", NOT_FOUND)
            if "requestBody" in operation or _parameters(operation, "query"):
                responses.setdefault("400", INVALID)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter.setdefault("allowEmptyValue", True)
    return result


# --- Links: which answer feeds which next call -----------------------------------------------
# OpenAPI links (https://spec.openapis.org/oas/v3.0.3#link-object) say where an id in an answer
# can be used next: create a draft → read it → change it → submit it → read the application;
# upload a document → read it → delete it → read it again (404). Clients can follow them, and
# schemathesis' stateful phase chains calls along them (tests/test_api_stateful.py).


def _link(operation_id: str, description: str, *, body: dict[str, str] | None = None, **parameters: str) -> dict:
    link: dict[str, Any] = {"operationId": operation_id, "description": description}
    if parameters:
        link["parameters"] = parameters
    if body:
        link["requestBody"] = body
    return link


def _each(pointer: str, description: str, targets: dict[str, str], parameter: str) -> dict[str, dict]:
    return {
        name: {"operationId": target, "description": description, "parameters": {parameter: pointer}}
        for name, target in targets.items()
    }


DRAFT_NEXT = {
    "ReadDraft": "drafts_read",
    "ChangeDraft": "drafts_update",
    "AttachDocument": "drafts_attach_document",
    "MoveToCurrentVersion": "drafts_move_to_current",
    "SubmitDraft": "drafts_submit",
}
DOCUMENT_NEXT = {"ReadDocument": "vault_detail", "DownloadDocument": "vault_download", "DeleteDocument": "vault_delete"}
WORK_ITEM_NEXT = {
    "Claim": "workbench_claim",
    "Decide": "workbench_decide",
    "RequestCorrection": "workbench_request_correction",
    "Release": "workbench_release",
    "Transfer": "workbench_transfer",
}
FIRST = "$response.body#/results/0"

LINKS: dict[tuple[str, str], dict[str, dict]] = {
    # The catalogue: a code in a list reads the one; a service or life event starts a draft.
    ("services_list", "200"): {
        "ReadService": _link("services_retrieve", "The first service.", code=f"{FIRST}/code"),
        "StartDraft": _link("drafts_create", "A draft for the first service.", body={"service": f"{FIRST}/code"}),
    },
    ("services_retrieve", "200"): {
        "StartDraft": _link("drafts_create", "A draft for this service.", body={"service": "$response.body#/code"}),
    },
    ("life_events_list", "200"): {
        "ReadLifeEvent": _link("life_events_retrieve", "The first life event.", code=f"{FIRST}/code"),
        "StartDraft": _link(
            "drafts_create", "One draft for the first life event.", body={"life_event": f"{FIRST}/code"}
        ),
    },
    ("data_elements_list", "200"): {
        "ReadDataElement": _link("data_elements_retrieve", "The first data element.", key=f"{FIRST}/key"),
    },
    # Drafts: create → read → change → attach → submit → the application.
    ("drafts_create", "201"): _each("$response.body#/id", "The draft just made.", DRAFT_NEXT, "group_id"),
    ("drafts_list", "200"): _each(f"{FIRST}/id", "The first draft.", DRAFT_NEXT, "group_id"),
    ("drafts_read", "200"): _each("$request.path.group_id", "The same draft.", DRAFT_NEXT, "group_id"),
    ("drafts_update", "200"): _each("$request.path.group_id", "The same draft.", DRAFT_NEXT, "group_id"),
    ("drafts_attach_document", "200"): _each("$request.path.group_id", "The same draft.", DRAFT_NEXT, "group_id"),
    ("drafts_move_to_current", "200"): _each("$request.path.group_id", "The same draft.", DRAFT_NEXT, "group_id"),
    **{
        ("drafts_submit", status): {
            "ReadSubmitted": _link("drafts_read", "The submitted group.", group_id="$response.body#/id"),
            "ReadApplication": _link(
                "my_applications_read", "Its first application.", number="$response.body#/applications/0/number"
            ),
            "SubmitAgain": _link("drafts_submit", "The same submission again.", group_id="$request.path.group_id"),
        }
        for status in ("200", "201")
    },
    ("my_applications_list", "200"): {
        "ReadApplication": _link("my_applications_read", "The first application.", number=f"{FIRST}/number"),
    },
    # The vault: upload → read → download → delete → read again (gone).
    **{
        ("vault_upload", status): {
            **_each("$response.body#/id", "The document just uploaded.", DOCUMENT_NEXT, "document_id"),
        }
        for status in ("200", "201")
    },
    ("vault_list", "200"): _each(f"{FIRST}/id", "The first document.", DOCUMENT_NEXT, "document_id"),
    ("vault_detail", "200"): _each("$request.path.document_id", "The same document.", DOCUMENT_NEXT, "document_id"),
    ("vault_delete", "204"): {
        "ReadDeleted": _link("vault_detail", "The deleted document: gone.", document_id="$request.path.document_id"),
        "DownloadDeleted": _link(
            "vault_download", "The deleted document: gone.", document_id="$request.path.document_id"
        ),
        "DeleteAgain": _link("vault_delete", "Deleted already: gone.", document_id="$request.path.document_id"),
    },
    # Notifications.
    ("notifications_list", "200"): {
        "MarkRead": _link("notifications_mark_read", "The first notification.", notification_id=f"{FIRST}/id"),
    },
    # The workbench: a queue's item → claim → decide, correction, release or transfer.
    ("workbench_queue", "200"): _each(f"{FIRST}/id", "The first work item.", WORK_ITEM_NEXT, "item_id"),
    **{
        (operation, "200"): _each("$response.body#/id", "The same work item.", WORK_ITEM_NEXT, "item_id")
        for operation in ("workbench_claim", "workbench_release", "workbench_request_correction", "workbench_decide")
    },
    ("workbench_transfer", "200"): _each("$response.body#/id", "The same work item.", WORK_ITEM_NEXT, "item_id"),
    ("workbench_transfer", "202"): {
        "DecideTransfer": _link(
            "workbench_transfer_request_decide", "The transfer request made.", request_id="$response.body#/id"
        ),
    },
}


def api_links(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """Adds LINKS to the answers they start from (by operationId and status)."""
    for path_item in result.get("paths", {}).values():
        for method in METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            responses = operation.get("responses", {})
            for status, response in list(responses.items()):
                links = LINKS.get((operation.get("operationId", ""), status))
                if links:
                    responses[status] = {**response, "links": {**response.get("links", {}), **links}}
    return result
