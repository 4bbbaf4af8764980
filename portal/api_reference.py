"""The API reference at /api/docs/: a server-rendered page made from the OpenAPI schema.

Swagger UI and Redoc are single-page applications that fail WCAG 2.2 AA (unlabelled controls,
small targets, low contrast, sideways scroll on a phone) and need JavaScript to show anything;
this page is plain HTML in the site's own design, readable with a screen reader, on a phone and
without JavaScript. The schema itself stays downloadable at /api/schema/ for tools.
"""

import functools
from dataclasses import dataclass, field
from typing import Any

from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")
REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool
    description: str
    read_only: bool = False
    schema: str = ""  # the named schema the field's type refers to, if any


@dataclass(frozen=True)
class Body:
    media_types: tuple[str, ...]
    schema: str
    type: str


@dataclass(frozen=True)
class Response:
    status: str
    description: str
    schema: str
    type: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: str
    signed_in: bool
    parameters: tuple[Field, ...]
    body: Body | None
    responses: tuple[Response, ...]


@dataclass
class Section:
    tag: str
    operations: list[Operation] = field(default_factory=list)


@dataclass(frozen=True)
class Schema:
    name: str
    description: str
    type: str
    fields: tuple[Field, ...]
    choices: tuple[str, ...]


@dataclass(frozen=True)
class Reference:
    title: str
    version: str
    description: str
    sections: tuple[Section, ...]
    schemas: tuple[Schema, ...]


def ref_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref", "")
    return ref.removeprefix(REF_PREFIX) if ref.startswith(REF_PREFIX) else ""


def type_of(schema: dict[str, Any]) -> str:
    """A short, readable type: `string (date-time)`, `array of Document`, `Document`."""
    if not schema:
        return "any"
    if name := ref_name(schema):
        return name
    for combiner in ("allOf", "oneOf", "anyOf"):
        if combiner in schema:
            return " or ".join(type_of(part) for part in schema[combiner])
    kind = schema.get("type", "object")
    if kind == "array":
        return f"array of {type_of(schema.get('items', {}))}"
    if "format" in schema:
        kind = f"{kind} ({schema['format']})"
    if schema.get("nullable"):
        kind = f"{kind}, or null"
    return kind


def linked_schema(schema: dict[str, Any]) -> str:
    """The named schema to link to for a type, if there is exactly one."""
    if name := ref_name(schema):
        return name
    if schema.get("type") == "array":
        return linked_schema(schema.get("items", {}))
    parts = schema.get("allOf") or []
    return ref_name(parts[0]) if len(parts) == 1 else ""


def _fields(schema: dict[str, Any]) -> tuple[Field, ...]:
    required = set(schema.get("required", []))
    return tuple(
        Field(
            name=name,
            type=type_of(prop),
            required=name in required,
            description=prop.get("description", "") or prop.get("title", ""),
            read_only=bool(prop.get("readOnly")),
            schema=linked_schema(prop),
        )
        for name, prop in schema.get("properties", {}).items()
    )


def _operation(path: str, method: str, spec: dict[str, Any]) -> Operation:
    parameters = tuple(
        Field(
            name=f"{p['name']} ({p['in']})",
            type=type_of(p.get("schema", {})),
            required=bool(p.get("required")),
            description=p.get("description", ""),
        )
        for p in spec.get("parameters", [])
    )
    body = None
    if content := spec.get("requestBody", {}).get("content"):
        first = next(iter(content.values())).get("schema", {})
        body = Body(media_types=tuple(content), schema=linked_schema(first), type=type_of(first))
    responses = []
    for status, answer in spec.get("responses", {}).items():
        media: dict[str, Any] = answer.get("content") or {}
        described: dict[str, Any] = media.get("application/json") or next(iter(media.values()), {})
        schema = described.get("schema", {})
        responses.append(
            Response(
                status=str(status),
                description=answer.get("description", ""),
                schema=linked_schema(schema),
                type=type_of(schema) if media else "",
            )
        )
    return Operation(
        method=method.upper(),
        path=path,
        anchor=spec.get("operationId", f"{method}-{path}"),
        summary=spec.get("summary", ""),
        description=spec.get("description", ""),
        signed_in={} not in spec.get("security", [{}]),
        parameters=parameters,
        body=body,
        responses=tuple(sorted(responses, key=lambda r: r.status)),
    )


def reference_from(schema: dict[str, Any]) -> Reference:
    sections: dict[str, Section] = {}
    for path, operations in schema.get("paths", {}).items():
        for method in METHODS:
            if method in operations:
                spec = operations[method]
                tag = (spec.get("tags") or ["other"])[0]
                sections.setdefault(tag, Section(tag)).operations.append(_operation(path, method, spec))
    schemas = tuple(
        Schema(
            name=name,
            description=spec.get("description", ""),
            type="object" if "properties" in spec else type_of(spec),
            fields=_fields(spec),
            choices=tuple(str(choice) for choice in spec.get("enum", []) if choice not in ("", None)),
        )
        for name, spec in sorted(schema.get("components", {}).get("schemas", {}).items())
    )
    info = schema.get("info", {})
    return Reference(
        title=info.get("title", ""),
        version=info.get("version", ""),
        description=info.get("description", ""),
        sections=tuple(sorted(sections.values(), key=lambda s: s.tag)),
        schemas=schemas,
    )


@functools.cache
def api_reference() -> Reference:
    """The schema does not change while the process runs: built once."""
    return reference_from(SchemaGenerator().get_schema(request=None, public=True))
