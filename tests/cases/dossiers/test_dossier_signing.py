"""Signed dossiers: a signed bundle verifies; a changed byte or another key fails, saying why;
after a key rotation an old bundle still verifies against the published keys."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from cases.dossiers.manifest import CHECKSUMS, MANIFEST, checksum_lines, sealed_manifest
from cases.dossiers.signing import SIGNATURE, init_key, key_id_of, parse_keys
from cases.dossiers.verify import check_dossier
from corps.settings import Settings
from testing.factories import make_case, make_person
from tests.cases.dossiers.conftest import built_zip, members


def rewrite(source: Path, target: Path, changed: dict[str, bytes]) -> Path:
    """A copy of a bundle with some members replaced."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info, changed.get(info.filename, old.read(info.filename)))
    return target


async def published(client: httpx.AsyncClient, tmp: Path) -> Path:
    """GET /api/v1/dossiers/signing-keys, saved as a verifier would save it."""
    response = await client.get("/api/v1/dossiers/signing-keys")  # no login needed
    assert response.status_code == 200, response.text
    path = tmp / f"keys-{len(list(tmp.glob('keys-*')))}.json"
    path.write_bytes(response.content)
    return path


def shell(script: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", script], cwd=folder, capture_output=True, text=True)


def corps_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "corps", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "EJ_ENV": "test"},
    )


@pytest.fixture
async def bundle(
    dclient: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    dossier_app: FastAPI,
    tmp_path: Path,
) -> Path:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(dclient, paralegal)
    _, path = await built_zip(
        dclient,
        dossier_app,
        paralegal,
        tmp_path,
        case_ids=[case["id"]],
        level="partner",
        formats=["geojson", "csv"],
    )
    return path


async def test_a_signed_bundle_verifies_and_says_who_signed_and_when(
    bundle: Path, dclient: httpx.AsyncClient, tmp_path: Path
) -> None:
    keys_file = await published(dclient, tmp_path)
    keys = parse_keys(keys_file.read_bytes())
    manifest = orjson.loads(members(bundle)[MANIFEST])
    assert manifest["signed_by"]["key_id"] in {k.key_id for k in keys}
    report = check_dossier(bundle, keys=keys)
    assert report.ok, report.problems
    assert report.signature is not None and report.signature.signer == "EJ Corps (test)"
    assert report.signature.signed_at == manifest["signed_by"]["signed_at"]
    run = corps_cli("verify-dossier", str(bundle), "--key", str(keys_file))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SIGNED: signed by EJ Corps (test)" in run.stdout
    assert manifest["signed_by"]["signed_at"] in run.stdout


async def test_one_changed_byte_fails_with_the_reason(
    bundle: Path, dclient: httpx.AsyncClient, tmp_path: Path
) -> None:
    keys = parse_keys((await published(dclient, tmp_path)).read_bytes())
    files = members(bundle)
    data = bytearray(files["cases.geojson"])
    data[len(data) // 2] ^= 0x01
    damaged = rewrite(bundle, tmp_path / "damaged.zip", {"cases.geojson": bytes(data)})
    problems = check_dossier(damaged, keys=keys).problems
    assert any(p.startswith("cases.geojson: SHA-256 is") for p in problems), problems
    # A forger who also fixes the manifest's hashes cannot fix its signature.
    manifest = orjson.loads(files[MANIFEST])
    for entry in manifest["files"]:
        if entry["path"] == "cases.geojson":
            import hashlib

            entry["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    manifest.pop("manifest_sha256")
    forged_manifest = sealed_manifest(manifest)
    forged = rewrite(
        bundle,
        tmp_path / "forged.zip",
        {
            "cases.geojson": bytes(data),
            MANIFEST: forged_manifest,
            CHECKSUMS: checksum_lines(
                manifest["files"], __import__("hashlib").sha256(forged_manifest).hexdigest()
            ),
        },
    )
    problems = check_dossier(forged, keys=keys).problems
    assert problems == [
        "signature: the signature does not match manifest.json: it was changed after "
        f"signing, or signed by another key than {manifest['signed_by']['key_id']}"
    ]


async def test_a_bundle_re_signed_with_another_key_fails(
    bundle: Path, dclient: httpx.AsyncClient, tmp_path: Path
) -> None:
    keys = parse_keys((await published(dclient, tmp_path)).read_bytes())
    files = members(bundle)
    stranger = Ed25519PrivateKey.generate()
    signature = base64.b64encode(stranger.sign(files[MANIFEST])).decode()
    real = orjson.loads(files[SIGNATURE])
    for key_id, expected in [
        (key_id_of(stranger.public_key()), "which is not one of the given public keys"),
        (real["key_id"], "the signature does not match manifest.json"),
    ]:
        sig = orjson.dumps({**real, "key_id": key_id, "signature": signature})
        resigned = rewrite(bundle, tmp_path / f"{key_id}.zip", {SIGNATURE: sig})
        problems = check_dossier(resigned, keys=keys).problems
        assert len(problems) == 1 and expected in problems[0], problems
    unsigned = tmp_path / "unsigned.zip"
    with zipfile.ZipFile(bundle) as old, zipfile.ZipFile(unsigned, "w") as new:
        for info in old.infolist():
            if info.filename != SIGNATURE:
                new.writestr(info, old.read(info.filename))
    assert check_dossier(unsigned, keys=keys).problems == [
        "signature: the bundle is not signed (manifest.sig is missing)"
    ]


async def test_after_a_key_rotation_an_old_bundle_still_verifies(
    bundle: Path,
    dclient: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    dossier_app: FastAPI,
    signing_key_dir: Path,
    tmp_path: Path,
) -> None:
    old_key = orjson.loads(members(bundle)[MANIFEST])["signed_by"]["key_id"]
    new = init_key(signing_key_dir, "EJ Corps (test)", rotate=True)
    keys_file = await published(dclient, tmp_path)
    keys = {k.key_id: k for k in parse_keys(keys_file.read_bytes())}
    assert keys[old_key].valid_until is not None and keys[new.key_id].valid_until is None
    assert check_dossier(bundle, keys=list(keys.values())).ok
    # Only the new key: the old bundle cannot be checked, and says which key it needs.
    problems = check_dossier(bundle, keys=[keys[new.key_id]]).problems
    assert problems and old_key in problems[0]
    # A new bundle is signed with the new key and verifies too.
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(dclient, paralegal)
    _, fresh = await built_zip(
        dclient,
        dossier_app,
        paralegal,
        tmp_path,
        case_ids=[case["id"]],
        level="public",
        formats=["csv"],
    )
    assert orjson.loads(members(fresh)[MANIFEST])["signed_by"]["key_id"] == new.key_id
    assert check_dossier(fresh, keys=list(keys.values())).ok
    run = corps_cli("verify-dossier", str(bundle), "--key", str(keys_file))
    assert run.returncode == 0, run.stdout + run.stderr


def test_keys_init_makes_a_key_outside_the_database_and_refuses_a_second(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    env = {"EJ_SIGNING_KEY_DIR": str(key_dir), "EJ_SIGNER_NAME": "Corps Secretariat"}
    first = subprocess.run(
        [sys.executable, "-m", "corps", "keys", "init"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert first.returncode == 0, first.stderr
    pem = list(key_dir.glob("*.pem"))
    assert len(pem) == 1 and (pem[0].stat().st_mode & 0o777) == 0o600
    again = subprocess.run(
        [sys.executable, "-m", "corps", "keys", "init"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert again.returncode == 2 and "--rotate" in again.stderr
    assert again.stderr.count("\n") == 1
    (key,) = parse_keys((key_dir / "keys.json").read_bytes())
    assert key.signer == "Corps Secretariat"


async def test_the_annex_commands_verify_an_unzipped_bundle_without_ej_corps(
    bundle: Path, dclient: httpx.AsyncClient, tmp_path: Path
) -> None:
    """What the PDF's annex tells a journalist to type: sha256sum, python3 and openssl."""
    from cases.dossiers.pdf_sections import verify_annex

    annex = verify_annex("x", {}, {})
    keys_file = await published(dclient, tmp_path)
    folder = tmp_path / "dossier"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder)
    (folder / "keys.json").write_bytes(keys_file.read_bytes())
    checked = shell("sha256sum -c manifest.sha256", folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    import html
    import re

    commands = [html.unescape(c) for c in re.findall(r"<pre>(.*?)</pre>", annex, re.S)]
    script = commands[-1]
    assert "openssl pkeyutl -verify" in script
    ran = shell(script, folder)
    assert ran.returncode == 0 and "Signature Verified Successfully" in ran.stdout, (
        ran.stdout + ran.stderr
    )
    (folder / "manifest.json").write_bytes((folder / "manifest.json").read_bytes() + b" ")
    ran = shell(script, folder)
    assert ran.returncode != 0
