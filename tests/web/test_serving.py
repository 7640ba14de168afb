"""The built app at `/` with its fallback and headers; /docs and /redoc without internet."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from corps.app import create_app
from corps.settings import Settings

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed

INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-1.js"></script>'


@pytest.fixture
async def web_client(
    settings: Settings, migrated: None, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app serving a small fake build."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "app-1.js").write_text("console.log(1)")
    (tmp_path / "sw.js").write_text("self.addEventListener('fetch', () => {})")
    (tmp_path / "assets" / "app-1.js.gz").write_bytes(gzip.compress(b"console.log(1)"))
    app = create_app(settings.model_copy(update={"web_dist": tmp_path}))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_app_routes_fall_back_to_the_index(web_client: httpx.AsyncClient) -> None:
    for path in ("/", "/cases", "/cases/new", "/map"):
        response = await web_client.get(path)
        assert response.status_code == 200, path
        assert response.text == INDEX
        assert response.headers["cache-control"] == "no-cache"
    asset = await web_client.get("/assets/app-1.js")
    assert asset.text == "console.log(1)"  # sent gzipped (httpx asks for it), read back plain
    assert asset.headers["content-encoding"] == "gzip"
    assert asset.headers["content-type"].startswith("text/javascript")
    assert "immutable" in asset.headers["cache-control"]
    plain = await web_client.get("/assets/app-1.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == b"console.log(1)"
    assert (await web_client.get("/sw.js")).headers["service-worker-allowed"] == "/"


async def test_the_api_keeps_its_paths(web_client: httpx.AsyncClient) -> None:
    unknown = await web_client.get("/api/v1/no-such-thing")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert (await web_client.get("/ogc/no-such-thing")).status_code == 404
    assert (await web_client.get("/health")).headers["content-type"].startswith("application/json")
    assert (await web_client.get("/openapi.json")).json()["info"]["title"] == "EJ Corps API"


async def test_pages_carry_a_strict_content_security_policy(web_client: httpx.AsyncClient) -> None:
    response = await web_client.get("/cases")
    csp = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert directives["connect-src"] == "'self'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    api = await web_client.get("/health")
    assert "frame-ancestors 'none'" in api.headers["content-security-policy"]


async def test_docs_and_redoc_load_their_assets_from_the_app(web_client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = (await web_client.get(page)).text
        assert "cdn.jsdelivr.net" not in html and "fonts.googleapis" not in html
        assert "/static-offline-docs/" in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        response = await web_client.get(f"/static-offline-docs/{asset}")
        assert response.status_code == 200 and len(response.content) > 10_000, asset


async def test_without_a_build_the_root_says_how_to_make_it(
    settings: Settings, migrated: None, tmp_path: Path
) -> None:
    app = create_app(settings.model_copy(update={"web_dist": tmp_path / "missing"}))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/")
    assert response.status_code == 404
    assert "make web" in response.json()["detail"]
