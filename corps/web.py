"""Serve the built web app (web/dist) at `/`, with its security headers.

Files of the build are served as they are (hashed assets cached for a year); any other GET
path outside the API falls back to index.html so the app's own routes (/cases/…) load on a
reload. The API keeps /api/v1, /ogc, /health, /docs, /redoc and /openapi.json: those
prefixes are never answered with the app.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from starlette.convertors import Convertor, register_url_convertor
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corps.errors import NotFound

DEFAULT_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"
mimetypes.add_type("application/manifest+json", ".webmanifest")
API_PREFIXES = ("api/", "ogc", "health", "docs", "redoc", "openapi.json", "static-offline-docs")


APP_ROUTES = ("signin", "cases", "map", "suggestions", "campaigns", "dossiers", "account", "outbox")
_NOT_API = "(?!" + "|".join(re.escape(p) for p in API_PREFIXES) + ")"
_APP_PATHS = "(?:" + "|".join(APP_ROUTES) + ")(?:/.*)?"
_BUILD_FILES = r"assets/.+|[\w.-]+\.(?:js|svg|webmanifest|png|ico|txt)"


class AppPathConvertor(Convertor[str]):
    """The app's own routes and the build's files; never an API path (its 404s stay)."""

    regex = f"{_NOT_API}(?:{_APP_PATHS}|{_BUILD_FILES}|)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("apppath", AppPathConvertor())

# The app's pages: scripts only from this origin, never inline; nothing leaves the origin.
APP_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Swagger UI and ReDoc start from an inline script; their assets are still served from here.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def _csp_for(path: str) -> str:
    if path.startswith(("/docs", "/redoc")):
        return DOCS_CSP
    if path.startswith(("/api/", "/ogc", "/health", "/openapi.json")):
        return API_CSP
    return APP_CSP


class SecurityHeaders:
    """ASGI middleware: every answer gets no sniffing, no referrer, no framing, and a CSP.

    Plain ASGI rather than an `@app.middleware("http")` function: that form runs each request
    in an extra task with memory streams, a cost every read paid.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers the answer does not already carry."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [*SECURITY_HEADERS, (b"content-security-policy", _csp_for(scope["path"]).encode())]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_web_app(app: FastAPI, dist: Path = DEFAULT_DIST) -> None:
    """Add the catch-all route that serves the build; register it after every API route."""
    root = dist.resolve()

    @app.get("/{path:apppath}", include_in_schema=False)
    async def web_app(path: str, request: Request) -> Response:
        index = root / "index.html"
        if not index.is_file():
            raise NotFound("The web app is not built: run `make web` (npm ci and vite build).")
        target, headers = index, {"Cache-Control": "no-cache"}
        if path:
            candidate = (root / path).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                target, headers = candidate, _cache_headers(path)
        return _maybe_compressed(target, headers, request.headers.get("accept-encoding", ""))


def _maybe_compressed(target: Path, headers: dict[str, str], accepted: str) -> FileResponse:
    """The build's gzip twin (made by `vite build`) when the browser takes gzip."""
    media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith("javascript"):
        media_type += "; charset=utf-8"
    twin = target.with_name(target.name + ".gz")
    headers = {**headers, "Vary": "Accept-Encoding"}
    if "gzip" in accepted and twin.is_file():
        headers["Content-Encoding"] = "gzip"
        return FileResponse(twin, media_type=media_type, headers=headers)
    return FileResponse(target, media_type=media_type, headers=headers)


def _cache_headers(path: str) -> dict[str, str]:
    if path.startswith("assets/"):  # content-hashed names: never change
        return {"Cache-Control": "public, max-age=31536000, immutable"}
    if path == "sw.js":
        return {"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"}
    return {"Cache-Control": "no-cache"}
