"""Check a dossier ZIP offline, with no database: hashes, manifest, and chains of custody."""

from __future__ import annotations

import hashlib
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from cases.dossiers.manifest import (
    CHECKSUMS,
    MANIFEST,
    SELF_HASH,
    checksum_lines,
    custody_path,
    manifest_digest,
)
from cases.dossiers.signing import SIGNATURE, PublicKey, SignatureCheck, check_signature
from cases.evidence.custody import GENESIS_HASH, chain_problems

CHUNK = 1 << 20


@dataclass
class Report:
    """What checking a bundle found."""

    path: Path
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    evidence_checked: int = 0
    chains_checked: int = 0
    level: str | None = None
    case_count: int | None = None
    dossier_id: str | None = None
    signature: SignatureCheck | None = None  # None: no key was given, so it was not checked
    withheld_cases: str | None = None

    @property
    def ok(self) -> bool:
        """Whether everything is intact."""
        return not self.problems


def _hash_member(archive: zipfile.ZipFile, name: str) -> tuple[str, int, str | None]:
    """SHA-256 and size of a member, read in chunks; the error if it cannot be read whole."""
    sha, size = hashlib.sha256(), 0
    try:
        with archive.open(name) as member:
            while chunk := member.read(CHUNK):
                sha.update(chunk)
                size += len(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        return sha.hexdigest(), size, str(exc)
    return sha.hexdigest(), size, None


def _link_problems(events: list[dict[str, Any]]) -> list[str]:
    """The checks a chain reduced to its links allows: order, continuity, the receipt first."""
    problems: list[str] = []
    expected_prev: Any = GENESIS_HASH
    for number, event in enumerate(events, start=1):
        if event.get("seq") != number:
            problems.append(f"custody event {number} is missing (found {event.get('seq')} next)")
        if event.get("prev_hash") != expected_prev:
            problems.append(f"custody event {event.get('seq')}: previous hash does not match")
        expected_prev = event.get("hash")
    if not events:
        problems.append("the chain of custody is empty")
    elif events[0].get("event") != "received":
        problems.append("the chain of custody does not start with the receipt")
    return problems


def _check_chain(report: Report, name: str, raw: bytes) -> str | None:
    """Check one custody file; return the hash its receipt names."""
    try:
        document = orjson.loads(raw)
        events = document["events"]
        evidence_id = document["evidence_id"]
        complete = bool(document.get("complete"))
        problems = chain_problems(events) if complete else _link_problems(events)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        report.problems.append(f"{name}: not a readable chain of custody ({exc})")
        return None
    if any(event.get("evidence_id") != evidence_id for event in events):
        problems.append("an event belongs to another evidence item")
    report.problems += [f"{name}: {problem}" for problem in problems]
    report.chains_checked += 1
    receipt = events[0] if events else {}
    return (receipt.get("details") or {}).get("sha256")


def _read_manifest(report: Report, archive: zipfile.ZipFile) -> dict[str, Any] | None:
    try:
        raw = archive.read(MANIFEST)
        manifest = orjson.loads(raw)
    except KeyError:
        report.problems.append(f"{MANIFEST} is missing")
        return None
    except (zipfile.BadZipFile, orjson.JSONDecodeError) as exc:
        report.problems.append(f"{MANIFEST} cannot be read: {exc}")
        return None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list) or not all(
        isinstance(e, dict) and isinstance(e.get("path"), str) for e in files
    ):
        report.problems.append(f"{MANIFEST} has no proper list of files")
        return None
    if manifest.get(SELF_HASH) != manifest_digest(manifest):
        report.problems.append(f"{MANIFEST} was changed after it was sealed (its own hash differs)")
    try:
        checksums = archive.read(CHECKSUMS)
    except KeyError:
        report.problems.append(f"{CHECKSUMS} is missing")
    else:
        own = hashlib.sha256(raw).hexdigest()
        if checksums != checksum_lines(manifest["files"], own):
            report.problems.append(f"{CHECKSUMS} does not agree with {MANIFEST}")
    report.level = manifest.get("level")
    report.case_count = manifest.get("case_count")
    report.dossier_id = manifest.get("dossier_id")
    report.withheld_cases = manifest.get("withheld_cases_summary")
    return manifest


def _check_files(report: Report, archive: zipfile.ZipFile, manifest: dict[str, Any]) -> None:
    names = archive.namelist()
    for name in names:
        if name.startswith("/") or ".." in name.split("/"):
            report.problems.append(f"{name} has an unsafe path (it would land outside the folder)")
    for name, count in Counter(names).items():
        if count > 1:
            report.problems.append(f"{name} is in the ZIP {count} times")
    listed = {entry.get("path") for entry in manifest["files"]}
    for name in sorted(set(names) - listed - {MANIFEST, CHECKSUMS, SIGNATURE}):
        report.problems.append(f"{name} is in the ZIP but not in the manifest")
    receipts: dict[str, str | None] = {}
    for entry in manifest["files"]:
        path = entry.get("path")
        if path not in names:
            report.problems.append(f"{path} is listed in the manifest but missing from the ZIP")
            continue
        sha256, size, error = _hash_member(archive, path)
        report.files_checked += 1
        if error:
            report.problems.append(f"{path} is damaged: {error}")
        if sha256 != entry.get("sha256"):
            report.problems.append(
                f"{path}: SHA-256 is {sha256}, the manifest says {entry.get('sha256')}"
            )
        if size != entry.get("size"):
            report.problems.append(f"{path}: size is {size}, the manifest says {entry.get('size')}")
        if path.startswith("custody/") and not error:
            receipts[path] = _check_chain(report, path, archive.read(path))
    for entry in manifest["files"]:
        if entry.get("path", "").startswith("evidence/"):
            _check_evidence(report, entry, receipts)


def _check_evidence(report: Report, entry: dict[str, Any], receipts: dict[str, str | None]) -> None:
    """An evidence file must be what its chain of custody says was received."""
    path, evidence_id = entry["path"], entry.get("evidence_id")
    report.evidence_checked += 1
    chain = custody_path(str(evidence_id))
    if not evidence_id or chain not in receipts:
        report.problems.append(f"{path}: no chain of custody ({chain}) in the bundle")
        return
    received = receipts[chain]
    if "derived_from" in entry:
        if entry["derived_from"] != received:
            report.problems.append(
                f"{path}: derived from {entry['derived_from']}, but its chain received {received}"
            )
    elif entry.get("sha256") != received:
        report.problems.append(
            f"{path}: SHA-256 {entry.get('sha256')} is not the {received} its chain received"
        )


def _check_signature(report: Report, archive: zipfile.ZipFile, keys: list[PublicKey]) -> None:
    try:
        manifest = archive.read(MANIFEST)
    except KeyError:
        return  # already reported
    try:
        signature: bytes | None = archive.read(SIGNATURE)
    except KeyError:
        signature = None
    report.signature = check_signature(manifest, signature, keys)
    if not report.signature.ok:
        report.problems.append(f"signature: {report.signature.reason}")


def check_dossier(
    path: Path, *, expect_sha256: str | None = None, keys: list[PublicKey] | None = None
) -> Report:
    """Check everything that can be checked offline and describe what is wrong.

    With keys (the corps' published public keys), manifest.sig is checked as well: the
    manifest must be signed by one of them, at a time that key was valid.
    """
    report = Report(path=path)
    if expect_sha256:
        with path.open("rb") as fh:
            actual = hashlib.file_digest(fh, "sha256").hexdigest()
        if actual != expect_sha256.strip().lower():
            report.problems.append(
                f"the ZIP's SHA-256 is {actual}, not the {expect_sha256} the server reported"
            )
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = _read_manifest(report, archive)
            if manifest is not None:
                _check_files(report, archive, manifest)
            if keys is not None:
                _check_signature(report, archive, keys)
    except (zipfile.BadZipFile, OSError) as exc:
        report.problems.append(f"{path} is not a readable ZIP: {exc}")
    return report


def verify_dossier(path: Path | str, keys: list[PublicKey] | None = None) -> list[str]:
    """Every problem found in a dossier ZIP; an empty list means it is intact."""
    return check_dossier(Path(path), keys=keys).problems


def format_report(report: Report) -> str:
    """A plain-text report for people."""
    head = [
        f"dossier {report.dossier_id or '?'} ({report.path})",
        f"level {report.level or '?'}, {report.case_count} cases",
        f"checked {report.files_checked} files, {report.evidence_checked} evidence files, "
        f"{report.chains_checked} chains of custody",
    ]
    if report.withheld_cases:
        head.append(report.withheld_cases)
    if report.signature is None:
        head.append("signature not checked: give the corps' public key with --key FILE|URL")
    elif report.signature.ok:
        head.append(f"SIGNED: {report.signature.reason}")
    if report.ok:
        return "\n".join([*head, "INTACT: every hash, the manifest and every chain check out."])
    lines = [f"  - {problem}" for problem in report.problems]
    return "\n".join([*head, f"NOT INTACT: {len(report.problems)} problem(s):", *lines])
