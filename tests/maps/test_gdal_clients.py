"""The README's GDAL lines, run as written against a live server with the system's GDAL."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import httpx
import pyogrio.raw
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import PASSWORD, case_body, make_person
from testing.live import live_server

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_lines(tool: str) -> list[str]:
    """The README's shell lines that start with `tool`."""
    lines = [line.strip() for line in README.read_text().splitlines()]
    return [line for line in lines if line.startswith(tool + " ")]


def run_shell(line: str, *, api: str, token: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line],
        env={"PATH": "/usr/bin:/bin", "API": api, "TOKEN": token, "HOME": str(cwd)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_documented_ogrinfo_and_ogr2ogr_lines_work(
    db: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    version = await asyncio.to_thread(
        subprocess.run, ["ogrinfo", "--version"], capture_output=True, text=True, check=False
    )
    assert re.match(r"GDAL 3\.(\d+)", version.stdout), version.stdout
    ogrinfo, ogr2ogr = documented_lines("ogrinfo"), documented_lines("ogr2ogr")
    assert len(ogrinfo) == 1 and len(ogr2ogr) == 1
    assert "GDAL_HTTP_AUTH" not in ogrinfo[0] + ogr2ogr[0]

    person = await make_person(db, settings, "paralegal")
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.url) as client:
        login = await client.post(
            "/api/v1/auth/token", data={"username": person.email, "password": PASSWORD}
        )
        token = login.json()["access_token"]
        made = await client.post(
            "/api/v1/cases",
            headers={"Authorization": f"Bearer {token}"},
            json=case_body(title="Seen through GDAL"),
        )
        assert made.status_code == 201, made.text

        info = await asyncio.to_thread(
            run_shell, ogrinfo[0], api=server.url, token=token, cwd=tmp_path
        )
        assert info.returncode == 0, info.stdout + info.stderr
        assert "Layer name: cases" in info.stdout
        count = re.search(r"Feature Count: (\d+)", info.stdout)
        assert count is not None and int(count.group(1)) >= 1

        copied = await asyncio.to_thread(
            run_shell, ogr2ogr[0], api=server.url, token=token, cwd=tmp_path
        )
        assert copied.returncode == 0, copied.stdout + copied.stderr

        refused = await asyncio.to_thread(
            run_shell, ogrinfo[0], api=server.url, token="not-a-token", cwd=tmp_path
        )
        assert refused.returncode != 0  # the token is what lets GDAL in

    _meta, _fids, _geometry, fields = pyogrio.raw.read(tmp_path / "cases.gpkg", columns=["title"])
    assert "Seen through GDAL" in list(fields[0])
