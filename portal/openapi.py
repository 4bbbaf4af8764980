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
