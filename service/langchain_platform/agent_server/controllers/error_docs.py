"""The error answers each Agent Server operation documents, all problem details: the platform's
own, plus 422 (a body the SDK must see as ``UnprocessableEntityError``: wrong type, unknown field,
value this server does not serve)."""

from __future__ import annotations

from litestar.openapi import ResponseSpec

from langchain_platform.errors import PROBLEM_JSON, ProblemDetails, error_responses

_OWN_MEANINGS = {
    422: "Invalid request body or a value this server does not serve: the detail names the field",
}


def agent_server_errors(*statuses: int) -> dict[int, ResponseSpec]:
    specs = error_responses(*(status for status in statuses if status not in _OWN_MEANINGS))
    for status in statuses:
        if status in _OWN_MEANINGS:
            specs[status] = ResponseSpec(
                data_container=ProblemDetails,
                description=_OWN_MEANINGS[status],
                media_type=PROBLEM_JSON,
                generate_examples=False,
            )
    return specs


# Every operation may meet the key gate (401), the scope guard (403) and an unavailable service (503).
META_ERRORS = agent_server_errors(401, 403, 503)
# Path and query parameters are checked by the router (400); what they name may not exist (404).
LOOKUP_ERRORS = agent_server_errors(400, 401, 403, 404, 409, 503)
# And a JSON body: too large (413) or refused (422).
BODY_ERRORS = agent_server_errors(400, 401, 403, 404, 409, 413, 422, 503)
