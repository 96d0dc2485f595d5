"""What the OpenAPI document says beyond the handlers' own declarations, and where it is served.

- Security: the two ways to send a key (``X-API-Key``, ``Authorization: Bearer``) as schemes, and
  on every operation the requirement that applies with this configuration: either scheme, or
  ``security: []`` for a path in ``AUTH_EXEMPT_PATHS`` (or every path with ``API_KEY_ENABLED=false``).
- Links: the operations whose answer names something another operation reads (an invoke's
  ``thread_id``, a webhook's ``run_id``), so clients and stateful fuzzers can follow them.
- ``/schema/...``: an unknown path there is a 404 problem like everywhere else, not an HTML page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from litestar import Litestar, Response, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import (
    Components,
    Link,
    OpenAPIResponse,
    Operation,
    SecurityRequirement,
    SecurityScheme,
)
from litestar.routes import HTTPRoute

from langchain_platform.auth import path_is_exempt
from langchain_platform.errors import problem_response
from langchain_platform.settings import Settings

API_KEY_SCHEME = "ApiKeyHeader"
BEARER_SCHEME = "BearerToken"
SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    API_KEY_SCHEME: SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
    BEARER_SCHEME: SecurityScheme(type="http", scheme="bearer", description="the same key as a bearer token"),
}
# Either scheme will do (a list of alternatives, each a requirement object).
KEY_REQUIRED: list[SecurityRequirement] = [{API_KEY_SCHEME: []}, {BEARER_SCHEME: []}]

_THREAD_OF_INVOKE = {"name": "$request.path.name", "thread_id": "$response.body#/thread_id"}
_THREAD_OF_WEBHOOK = {"name": "$request.path.agent", "thread_id": "$response.body#/thread_id"}
# Keyed by operationId (Litestar derives it from the path and the handler's name), then status.
LINKS: dict[str, dict[str, dict[str, Link]]] = {
    "ApiEnterpriseAgentsNameInvokeInvoke": {
        "200": {
            "ReadThread": Link(
                operation_id="ApiEnterpriseAgentsNameThreadsThreadIdGetThread", parameters=_THREAD_OF_INVOKE
            ),
            "DeleteThread": Link(
                operation_id="ApiEnterpriseAgentsNameThreadsThreadIdDeleteThread",
                parameters=_THREAD_OF_INVOKE,
            ),
        }
    },
    "ApiWebhooksAgentReceive": {
        "202": {
            "RunStatus": Link(
                operation_id="ApiRunsRunIdGetRun", parameters={"run_id": "$response.body#/run_id"}
            ),
            "ReadThread": Link(
                operation_id="ApiEnterpriseAgentsNameThreadsThreadIdGetThread", parameters=_THREAD_OF_WEBHOOK
            ),
        }
    },
}


@dataclass  # for its own __init__, which calls __post_init__ (Operation's does not)
class PlatformOperation(Operation):
    """An operation that always states its security (``[]``: no key needed) and carries its links."""

    links: ClassVar[dict[str, dict[str, dict[str, Link]]]] = LINKS

    def __post_init__(self) -> None:
        if self.security is None:
            self.security = []
        for status, links in self.links.get(self.operation_id or "", {}).items():
            response = (self.responses or {}).get(status)
            if isinstance(response, OpenAPIResponse):
                response.links = {**(response.links or {}), **links}


def _schema_path_not_found(response: Response[Any]) -> Response[Any]:
    if response.status_code == 404:
        return problem_response(404, "No OpenAPI document or viewer at this path: GET /schema/openapi.json")
    return response


def openapi_config(version: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="langchain-platform",
        version=version,
        components=Components(security_schemes=dict(SECURITY_SCHEMES)),
        openapi_router=Router(
            "/schema", route_handlers=[], include_in_schema=False, after_request=_schema_path_not_found
        ),
    )


def declare_operations(app: Litestar, settings: Settings) -> None:
    """Give every operation its security requirement under ``settings``, and its links."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        exempt = not settings.api_key_enabled or path_is_exempt(route.path, settings.auth_exempt_paths)
        for handler in route.route_handlers:
            handler.security = [] if exempt else KEY_REQUIRED
            if not issubclass(handler.operation_class, PlatformOperation):
                handler.operation_class = PlatformOperation
