"""`corps verify-dossier` and verify_dossier(): intact bundles pass, any change is named."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from cases.dossiers.manifest import checksum_lines, sealed_manifest
from cases.dossiers.verify import verify_dossier
from corps.settings import Settings
from testing.factories import make_case, make_person, photo_with_gps, upload
from tests.cases.dossiers.conftest import built_zip

# Committed rows: module-scoped fixtures build dossiers once for every test of the module.
pytestmark = pytest.mark.committed


@pytest.fixture(scope="module")
async def intact(
    engine: AsyncEngine,
    settings: Settings,
    dossier_app: FastAPI,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """An internal dossier with a photo and a document."""
    transport = httpx.ASGITransport(app=dossier_app, raise_app_exceptions=False)
    async with (
        async_sessionmaker(engine, expire_on_commit=False)() as db,
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        paralegal = await make_person(db, settings, "paralegal")
        case = await make_case(client, paralegal)
        await upload(client, paralegal, case["id"], photo_with_gps(36.7866, -1.2833))
        await upload(
            client,
            paralegal,
            case["id"],
            b"%PDF-1.4\n% verify " + os.urandom(8).hex().encode() + b"\n%%EOF\n",
            filename="report.pdf",
            kind="document",
        )
        _, path = await built_zip(
            client,
            dossier_app,
            paralegal,
            tmp_path_factory.mktemp("verify"),
            case_ids=[case["id"]],
            level="internal",
        )
    return path


def corps_verify(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "corps", "verify-dossier", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def rewrite(source: Path, target: Path, change: Callable[[str, bytes], bytes | None]) -> None:
    """Copy a ZIP member by member; `change` returns new bytes, or None to drop the member."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info, data)


def evidence_name(path: Path, suffix: str) -> str:
    with zipfile.ZipFile(path) as archive:
        return next(
            n for n in archive.namelist() if n.startswith("evidence/") and n.endswith(suffix)
        )


def test_an_intact_bundle_verifies_and_the_command_says_so(intact: Path) -> None:
    assert verify_dossier(intact) == []
    result = corps_verify(intact)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "INTACT" in result.stdout and "2 evidence files" in result.stdout
    digest = hashlib.sha256(intact.read_bytes()).hexdigest()
    assert corps_verify(intact, "--expect-sha256", digest).returncode == 0
    assert corps_verify(intact, "--expect-sha256", "0" * 64).returncode == 1


def test_one_flipped_byte_inside_the_zip_is_caught(intact: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "flipped.zip"
    shutil.copy(intact, damaged)
    name = evidence_name(damaged, ".jpg")
    with zipfile.ZipFile(damaged) as archive:
        offset = archive.getinfo(name).header_offset
    data = bytearray(damaged.read_bytes())
    name_len, extra_len = struct.unpack_from("<HH", data, offset + 26)
    data[offset + 30 + name_len + extra_len + 100] ^= 0x01
    damaged.write_bytes(bytes(data))
    problems = verify_dossier(damaged)
    assert problems and all(name in p for p in problems), problems
    result = corps_verify(damaged)
    assert result.returncode == 1 and "NOT INTACT" in result.stdout and name in result.stdout


def test_a_removed_file_is_caught(intact: Path, tmp_path: Path) -> None:
    target = tmp_path / "removed.zip"
    name = evidence_name(intact, ".pdf")
    rewrite(intact, target, lambda n, d: None if n == name else d)
    problems = verify_dossier(target)
    assert any(name in p and "missing" in p for p in problems), problems
    assert corps_verify(target).returncode == 1


def test_a_changed_file_with_a_matching_manifest_entry_is_caught_by_the_seal(
    intact: Path, tmp_path: Path
) -> None:
    target = tmp_path / "edited.zip"
    name = evidence_name(intact, ".pdf")
    forged = b"%PDF-1.4\n% a different report\n%%EOF\n"

    def change(member: str, data: bytes) -> bytes:
        if member == name:
            return forged
        if member == "manifest.json":
            manifest = orjson.loads(data)
            for entry in manifest["files"]:
                if entry["path"] == name:
                    entry["sha256"], entry["size"] = hashlib.sha256(forged).hexdigest(), len(forged)
            return orjson.dumps(manifest)
        return data

    rewrite(intact, target, change)
    problems = verify_dossier(target)
    assert any("manifest.json was changed" in p for p in problems), problems


def test_a_resealed_manifest_cannot_hide_a_swapped_file_from_its_chain_of_custody(
    intact: Path, tmp_path: Path
) -> None:
    target = tmp_path / "resealed.zip"
    name = evidence_name(intact, ".pdf")
    forged = b"%PDF-1.4\n% a forged report\n%%EOF\n"
    with zipfile.ZipFile(intact) as archive:
        manifest = orjson.loads(archive.read("manifest.json"))
        received = hashlib.sha256(archive.read(name)).hexdigest()
    for entry in manifest["files"]:
        if entry["path"] == name:
            entry["sha256"], entry["size"] = hashlib.sha256(forged).hexdigest(), len(forged)
    manifest.pop("manifest_sha256")
    sealed = sealed_manifest(manifest)
    checksums = checksum_lines(manifest["files"], hashlib.sha256(sealed).hexdigest())
    replacements = {name: forged, "manifest.json": sealed, "manifest.sha256": checksums}
    rewrite(intact, target, lambda n, d: replacements.get(n, d))
    problems = verify_dossier(target)
    forged_sha = hashlib.sha256(forged).hexdigest()
    assert problems == [f"{name}: SHA-256 {forged_sha} is not the {received} its chain received"]


def test_a_file_added_to_the_zip_is_caught(intact: Path, tmp_path: Path) -> None:
    target = tmp_path / "added.zip"
    shutil.copy(intact, target)
    with zipfile.ZipFile(target, "a") as archive:
        archive.writestr("evidence/extra.jpg", b"not from the locker")
    assert any("not in the manifest" in p for p in verify_dossier(target))


def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"hello")
    assert verify_dossier(junk)
    assert corps_verify(junk).returncode == 1
    assert corps_verify(tmp_path / "absent.zip").returncode == 2
    help_text = subprocess.run(
        [sys.executable, "-m", "corps", "verify-dossier", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert help_text.returncode == 0 and "Usage" in help_text.stdout
