"""OpenAPI schema generation details Litestar leaves out.

Request bodies refuse unknown fields (``forbid_unknown_fields``, a 400 naming the field); the
schema says so with ``additionalProperties: false``, so clients and fuzzers know it up front.
A chain's ``input`` must hold exactly the chain's template variables, which come from the agents
file: its schema is generated from the chains loaded, when the document is first asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

# Litestar's own struct plugin (not exported publicly): this one only adds to what it generates.
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.plugins import OpenAPISchemaPlugin

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition


class ChainInputMarker:
    """``Annotated`` metadata of ``ChainRequest.input``; msgspec ignores it, the plugin below not."""


CHAIN_INPUT = ChainInputMarker()


_BOUNDS = (("ge", "minimum"), ("le", "maximum"), ("gt", "exclusive_minimum"), ("lt", "exclusive_maximum"))


class ClosedStructSchemaPlugin(StructSchemaPlugin):
    """Marks structs with ``forbid_unknown_fields=True`` as ``additionalProperties: false``, and
    states every constraint the decoder enforces: Litestar leaves out bounds of 0 (it tests them for
    truth) and the constraints of list items (``thread_ids``' pattern), so a schema-valid body could
    be refused."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if isinstance(info, msgspec.inspect.StructType):
            if info.forbid_unknown_fields:
                schema.additional_properties = False
            for field in info.fields:
                prop = (schema.properties or {}).get(field.encode_name)
                if isinstance(prop, Schema):
                    _complete_constraints(prop, field.type)
        return schema


def _complete_constraints(schema: Schema, info: msgspec.inspect.Type) -> None:
    options = info.types if isinstance(info, msgspec.inspect.UnionType) else (info,)
    for option in options:
        if isinstance(option, msgspec.inspect.Metadata):  # Annotated: the constraints are on its type
            option = option.type
        if isinstance(option, msgspec.inspect.IntType | msgspec.inspect.FloatType):
            for ours, theirs in _BOUNDS:
                if getattr(option, ours) is not None and getattr(schema, theirs) is None:
                    setattr(schema, theirs, getattr(option, ours))
        elif isinstance(option, msgspec.inspect.StrType):
            if option.pattern is not None and schema.pattern is None:
                schema.pattern = option.pattern
        elif isinstance(option, msgspec.inspect.ListType):
            for array in (schema, *(schema.one_of or ())):
                if isinstance(array, Schema) and isinstance(array.items, Schema):
                    _complete_constraints(array.items, option.item_type)


class ChainInputSchemaPlugin(OpenAPISchemaPlugin):
    """The schema of a chain's ``input``: a string for one-variable chains, else its variables."""

    def __init__(self, variable_sets: Callable[[], list[tuple[str, ...]]]) -> None:
        self._variable_sets = variable_sets

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return False  # recognised by its marker, see is_plugin_supported_field

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return any(item is CHAIN_INPUT for item in field_definition.metadata)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        variable_sets = sorted(set(self._variable_sets()))
        options: list[Schema] = []
        if any(len(names) == 1 for names in variable_sets):
            options.append(Schema(type=OpenAPIType.STRING, description="the one variable of its chain"))
        options.extend(
            Schema(
                type=OpenAPIType.OBJECT,
                properties={name: Schema(type=OpenAPIType.STRING) for name in names},
                required=list(names),
                additional_properties=False,
                description="every template variable of the chain, and nothing else",
            )
            for names in variable_sets
        )
        return Schema(one_of=options) if options else Schema(type=OpenAPIType.STRING)
