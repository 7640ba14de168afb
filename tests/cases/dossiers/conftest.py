"""Dossier fixtures: the router mounted, builds run in-process, bundles read back."""

from __future__ import annotations

import io
import os
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image

from cases.dossiers.build import Deps, build_dossier
from cases.dossiers.models import Dossier
from corps.viewer import Viewer, acting_as
from testing.factories import Person


@pytest.fixture(scope="session", autouse=True)
def signing_key_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The corps' signing keys for this run, made as `corps keys init` makes them."""
    from cases.dossiers.settings import dossier_settings
    from cases.dossiers.signing import init_key

    key_dir = tmp_path_factory.mktemp("keys")
    previous = os.environ.get("EJ_SIGNING_KEY_DIR")
    os.environ["EJ_SIGNING_KEY_DIR"] = str(key_dir)
    dossier_settings.cache_clear()
    init_key(key_dir, "EJ Corps (test)")
    yield key_dir
    if previous is None:
        os.environ.pop("EJ_SIGNING_KEY_DIR", None)
    else:
        os.environ["EJ_SIGNING_KEY_DIR"] = previous
    dossier_settings.cache_clear()


@pytest.fixture(scope="session")
def dossier_app(app: FastAPI) -> FastAPI:
    """The application (its dossier routes come from corps/app.py)."""
    return app


@pytest.fixture
async def dclient(dossier_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app with the dossier routes."""
    transport = httpx.ASGITransport(app=dossier_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def run_build(app: FastAPI, dossier_id: str) -> dict[str, Any]:
    """Run the build job's body here, as a worker would: as its requester, same services."""
    deps = Deps(app.state.sessionmaker, app.state.engine, app.state.storage, app.state.arq)
    with acting_as(Viewer.system("tests.dossier-requester")):
        async with app.state.sessionmaker() as session:
            dossier = await session.get_one(Dossier, uuid.UUID(dossier_id))
    requester = Viewer(
        role=dossier.requester_role,
        user_id=dossier.requested_by,
        organization_id=dossier.organization_id,
    )
    with acting_as(requester):
        return await build_dossier(deps, uuid.UUID(dossier_id))


async def ask(client: httpx.AsyncClient, person: Person, **body: Any) -> httpx.Response:
    """POST /api/v1/dossiers as person."""
    return await client.post("/api/v1/dossiers", json=body, headers=person.headers)


async def built_zip(
    client: httpx.AsyncClient, app: FastAPI, person: Person, tmp: Path, **body: Any
) -> tuple[dict[str, Any], Path]:
    """Request a dossier, build it, download it; return its final status and the file."""
    response = await ask(client, person, **body)
    assert response.status_code == 202, response.text
    dossier_id = response.json()["id"]
    await run_build(app, dossier_id)
    status = (await client.get(f"/api/v1/dossiers/{dossier_id}", headers=person.headers)).json()
    assert status["status"] == "done", status
    download = await client.get(f"/api/v1/dossiers/{dossier_id}/download", headers=person.headers)
    assert download.status_code == 200, download.text
    path = tmp / f"{dossier_id}.zip"
    path.write_bytes(download.content)
    return status, path


def members(path: Path) -> dict[str, bytes]:
    """Every member of a ZIP, read whole (test bundles are small)."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def image_exif(data: bytes) -> dict[int, Any]:
    """The EXIF tags Pillow reads from an image, GPS IFD included."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        return {**dict(exif), **{0x8825: dict(exif.get_ifd(0x8825))}} if exif else {}


def pdf_text(data: bytes) -> str:
    """The text of every page of a PDF."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
