"""Requests derived from the service's own OpenAPI document, so a new endpoint is covered by itself.

`json_operations` lists every operation that takes a JSON body; `wrong_type_bodies` makes, for each
field of such a body, one body per JSON type the schema does not allow there; `concrete_path` fills
path parameters with names that exist in tests/support/agents.yaml.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

JSON_MEDIA_TYPE = "application/json"
# A value of each JSON type; "integer" and "number" differ by a fraction.
SAMPLES: dict[str, Any] = {
    "string": "1",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "array": [],
    "object": {},
    "null": None,
}
# Path parameters: an agent and a chain of tests/support/agents.yaml (an agent is also the Agent Server
# API's assistant), plain ids elsewhere.
PATH_VALUES = {
    "agent": "plain",
    "assistant_id": "plain",
    "thread_id": "t-1",
    "run_id": "run-1",
    "checkpoint_id": "cp-1",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the template, e.g. /api/enterprise/agents/{name}/invoke
    spec: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def url(self) -> str:
        return concrete_path(self.path)


def concrete_path(template: str) -> str:
    """`template` with its parameters filled: `{name}` is a chain under /api/chains, else an agent."""
    values = {**PATH_VALUES, "name": "summarize" if template.startswith("/api/chains") else "plain"}
    return template.format(**values)


def operations(document: dict[str, Any]) -> list[Operation]:
    return [
        Operation(method.upper(), path, spec)
        for path, item in document["paths"].items()
        for method, spec in item.items()
        if method in {"get", "put", "post", "delete", "patch"}
    ]


def body_refusal_status(op: Operation) -> int:
    """The status of a refused body: 422 where the operation documents it (the Agent Server API, whose
    clients read 422 as their validation error), else 400."""
    return 422 if "422" in op.spec.get("responses", {}) else 400


def json_operations(document: dict[str, Any]) -> list[Operation]:
    """Every operation whose request body is JSON."""
    return [
        op
        for op in operations(document)
        if JSON_MEDIA_TYPE in op.spec.get("requestBody", {}).get("content", {})
    ]


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def body_schema(document: dict[str, Any], op: Operation) -> dict[str, Any]:
    return resolve(document, op.spec["requestBody"]["content"][JSON_MEDIA_TYPE]["schema"])


def allowed_types(document: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """The JSON types a value of `schema` may have (any, for a schema that constrains none: `{}`)."""
    schema = resolve(document, schema)
    if not _CONSTRAINS_TYPE & schema.keys():
        return set(SAMPLES)
    found: set[str] = set()
    for option in schema.get("oneOf", []) + schema.get("anyOf", []):
        found |= allowed_types(document, option)
    declared = schema.get("type")
    if isinstance(declared, str):
        found.add(declared)
    elif isinstance(declared, list):
        found.update(declared)
    for value in [*schema.get("enum", []), *([schema["const"]] if "const" in schema else [])]:
        found.add(_json_type(value))
    if "properties" in schema:
        found.add("object")
    if "number" in found:
        found.add("integer")  # 1 is a number too (while an integer schema refuses 1.5)
    return found


_CONSTRAINS_TYPE = {"type", "oneOf", "anyOf", "enum", "const", "properties"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def valid_value(document: dict[str, Any], schema: dict[str, Any], marker: str) -> Any:
    """A value `schema` accepts (strings carry `marker`, so a run they start can be found)."""
    schema = resolve(document, schema)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    options = schema.get("oneOf") or schema.get("anyOf")
    if options:
        return valid_value(document, options[0], marker)
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object" or "properties" in schema:
        return minimal_body(document, schema, marker)
    if kind == "array":
        return []
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return marker


def minimal_body(document: dict[str, Any], schema: dict[str, Any], marker: str) -> dict[str, Any]:
    """An object with only the required properties of `schema`, each with a valid value."""
    schema = resolve(document, schema)
    properties = schema.get("properties", {})
    return {name: valid_value(document, properties[name], marker) for name in schema.get("required", [])}


@dataclass(frozen=True)
class WrongTypeCase:
    field: str  # dotted, e.g. input.topic
    json_type: str
    body: Any

    @property
    def top_field(self) -> str:
        return self.field.split(".")[0]


def wrong_type_bodies(document: dict[str, Any], op: Operation, marker: str) -> Iterator[WrongTypeCase]:
    """For each field of `op`'s body, nested ones and array items included, one body per JSON type
    the schema refuses there; the rest of each body is valid."""
    for schema in object_options(document, body_schema(document, op)):
        yield from _object_cases(document, schema, marker, "", lambda value: value)


def object_options(document: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The object schemas (with properties) among `schema` and its oneOf/anyOf options."""
    schema = resolve(document, schema)
    found = [schema] if "properties" in schema else []
    for option in schema.get("oneOf", []) + schema.get("anyOf", []):
        found += object_options(document, option)
    return found


def _object_cases(
    document: dict[str, Any], schema: dict[str, Any], marker: str, path: str, wrap: Callable[[Any], Any]
) -> Iterator[WrongTypeCase]:
    base = minimal_body(document, schema, marker)
    for name, field_schema in schema.get("properties", {}).items():
        field = f"{path}.{name}" if path else name

        def place(value: Any, name: str = name) -> Any:
            return wrap({**base, name: value})

        allowed = allowed_types(document, field_schema)
        for json_type, sample in SAMPLES.items():
            if json_type not in allowed:
                yield WrongTypeCase(field, json_type, place(sample))
        for items in _array_item_schemas(document, field_schema):
            for json_type, sample in SAMPLES.items():
                if json_type not in allowed_types(document, items):
                    yield WrongTypeCase(field, f"array of {json_type}", place([sample]))
        for nested in object_options(document, field_schema):
            yield from _object_cases(document, nested, marker, field, place)


def _array_item_schemas(document: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    schema = resolve(document, schema)
    options = [resolve(document, o) for o in schema.get("oneOf", []) + schema.get("anyOf", [])] or [schema]
    return [option["items"] for option in options if "items" in option]
