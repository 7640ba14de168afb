"""The first look at every request: body size limits before reading, and no NUL characters.

A body is refused with 413 before it is read when its Content-Length says it is too big,
and while it is read when it grows past the limit without one: JSON bodies, url-encoded
forms and multipart uploads each have their own setting. PostgreSQL cannot store a NUL
character in text, so a NUL in the path, the query string, a JSON body or a form is
refused here with 422 naming the field, instead of failing deep inside a statement.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corps.errors import PayloadTooLarge, problem_response
from corps.settings import Settings

MULTIPART_OVERHEAD = 1024 * 1024
_JSON_NUL = re.compile(rb"\\u0000")
_FORM_NUL = re.compile(rb"%00|\x00")
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


class BodyTooLarge(Exception):
    """The body grew past its limit while it was read."""


def _body_kind(content_type: str) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        return "multipart"
    if media == "application/x-www-form-urlencoded":
        return "form"
    return "json"  # JSON, and anything else a route might try to parse as such


def _nul_path(value: Any, loc: list[str]) -> list[str] | None:
    """The location of the first string (or key) holding a NUL in parsed JSON."""
    if isinstance(value, str):
        return loc if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return [*loc, key.replace("\x00", "\\u0000")]
            if (found := _nul_path(item, [*loc, key])) is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (found := _nul_path(item, [*loc, str(index)])) is not None:
                return found
    return None


def _nul_in_pairs(raw: bytes, where: str) -> list[str] | None:
    if not _FORM_NUL.search(raw):
        return None
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return [where, name.replace("\x00", "\\u0000")]
    return None


class RequestGuard:
    """ASGI middleware enforcing the body limits and refusing NUL characters."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limits = {
            "json": settings.max_json_mb * 1024 * 1024,
            "form": settings.max_form_kb * 1024,
            "multipart": settings.max_upload_bytes + MULTIPART_OVERHEAD,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"]:
            await self._refuse_nul(scope, receive, send, ["path"])
            return
        if (loc := _nul_in_pairs(scope.get("query_string", b""), "query")) is not None:
            await self._refuse_nul(scope, receive, send, loc)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        kind = _body_kind(headers.get("content-type", ""))
        limit = self.limits[kind]
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await self._too_large(scope, receive, send, kind, limit)
            return
        if kind == "multipart" or scope["method"] in _NO_BODY_METHODS:
            # Uploads stream to disk and enforce their own caps as they go.
            await self.app(scope, _counting(receive, limit), send)
            return
        try:
            body = await _read_body(receive, limit)
        except BodyTooLarge:
            await self._too_large(scope, receive, send, kind, limit)
            return
        loc = _nul_in_json(body) if kind == "json" else _nul_in_pairs(body, "body")
        if loc is not None:
            await self._refuse_nul(scope, receive, send, loc)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _too_large(
        self, scope: Scope, receive: Receive, send: Send, kind: str, limit: int
    ) -> None:
        what = {"json": "JSON bodies", "form": "Form bodies", "multipart": "Uploads"}[kind]
        size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
        response = problem_response(
            413,
            "payload-too-large",
            "Payload too large",
            f"{what} are limited to {size}; nothing was read.",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)

    async def _refuse_nul(self, scope: Scope, receive: Receive, send: Send, loc: list[str]) -> None:
        field = ".".join(loc)
        msg = "must not contain the NUL character (\\u0000)"
        response = problem_response(
            422,
            "validation-error",
            "Invalid input",
            f"{field}: {msg}",
            extra={"errors": [{"loc": loc, "msg": msg}]},
        )
        await response(scope, receive, send)


def _nul_in_json(body: bytes) -> list[str] | None:
    if not _JSON_NUL.search(body):
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None  # the route answers malformed JSON itself
    return _nul_path(parsed, ["body"])


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left; the route will see it too
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _counting(receive: Receive, limit: int) -> Receive:
    """Pass the body through, but stop a client that sends more than any limit allows."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise PayloadTooLarge("The body is larger than any upload may be.")
        return message

    return counted
