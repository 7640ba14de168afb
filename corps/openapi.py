"""The OpenAPI document tells the truth about errors: every operation's problem responses.

Every error of the API is application/problem+json (corps.errors). FastAPI documents none
of them and a validation error as its own HTTPValidationError shape, so clients generated
from the document did not know the errors existed. One pass over the generated document
adds, for each operation, the problem responses it can give, derived from what the
operation is: authenticated, addressed by an id, changing state, taking an upload.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from corps.errors import HTTP_TITLES, PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
CHANGING = frozenset({"post", "put", "patch", "delete"})
EXTRA_TITLES = {
    409: "Conflict",
    412: "The object changed since you read it",
    428: "Precondition required",
    500: "Internal server error",
    503: "Service unavailable",
}


class ProblemError(BaseModel):
    """One located validation error."""

    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem: every error of this API."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    """The problem statuses an operation can answer."""
    params = operation.get("parameters", [])
    body = operation.get("requestBody", {}).get("content", {})
    codes = {409, 413, 422, 500, 503}  # 409 also reads: a dossier not yet built
    if operation.get("security") or "/auth/" in path:  # sign-in answers 401 too
        codes |= {401, 403}
    if any(p.get("in") == "path" for p in params):
        codes.add(404)
    if method in CHANGING:  # a cookie session without the app's header is 403 anywhere
        codes |= {403, 409}
    if body:  # a body that cannot be parsed at all, or that names an object not there
        codes |= {400, 404}
    if any(p.get("in") == "header" and p.get("name", "").lower() == "if-match" for p in params):
        codes.add(412)
    if "multipart/form-data" in body:
        codes.add(415)
    if method == "post":
        codes.add(429)
    if path.startswith("/ogc"):
        codes.add(400)
    return sorted(codes)


def _title(status: int) -> str:
    return HTTP_TITLES.get(status, ("", EXTRA_TITLES.get(status, "Error")))[1]


def add_problem_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Declare the problem responses of every operation in an OpenAPI document (in place)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "put", "post", "patch", "delete", "head", "options"}:
                continue
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, method, operation):
                responses[str(status)] = {
                    "description": _title(status),
                    "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
                }
    return document


def install_problem_responses(app: FastAPI) -> None:
    """Make the app's OpenAPI document declare every operation's problem responses."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_problem_responses(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
