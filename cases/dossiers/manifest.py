"""The bundle's layout and manifest: what the builder writes and the offline verifier checks.

`manifest.json` lists every other file with its SHA-256 and size and carries its own hash
(`manifest_sha256`, over the canonical JSON without that field), so an edited manifest shows.
`manifest.sha256` repeats the hashes in `sha256sum -c` format, the manifest's own included, so
an unzipped bundle can be checked with coreutils alone.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from corps.audit import canonical_json

FORMAT = "ejcorps-dossier/1"
MANIFEST = "manifest.json"
CHECKSUMS = "manifest.sha256"
SELF_HASH = "manifest_sha256"
LINK_KEYS = ("evidence_id", "seq", "event", "at", "prev_hash", "hash")
RECEIPT_KEYS = ("sha256", "size", "media_type")
REDACTED_NOTE = (
    "The details of each event are left out because they can hold the exact capture location "
    "or people's names; the links between events are kept, so their order and continuity can "
    "be checked, and the full chain can be shown by the organization that holds the case."
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def manifest_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest's canonical JSON, leaving out its own hash field."""
    body = {key: value for key, value in manifest.items() if key != SELF_HASH}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def sealed_manifest(manifest: dict[str, Any]) -> bytes:
    """The manifest.json bytes: readable JSON that carries its own hash."""
    sealed = {**manifest, SELF_HASH: manifest_digest(manifest)}
    return orjson.dumps(sealed, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def checksum_lines(files: list[dict[str, Any]], manifest_sha256: str) -> bytes:
    """manifest.sha256: one `<hash>  <path>` line per file, as sha256sum writes them."""
    lines = [f"{entry['sha256']}  {entry['path']}" for entry in files]
    lines.append(f"{manifest_sha256}  {MANIFEST}")
    return ("\n".join(lines) + "\n").encode()


def safe_segment(text: str, limit: int = 80) -> str:
    """A file-name segment of plain ASCII letters, digits, dot, dash and underscore."""
    cleaned = _UNSAFE.sub("_", text).strip("._") or "file"
    return cleaned[:limit]


def safe_filename(name: str) -> str:
    """A file name reduced to safe_segment's characters, keeping its extension."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return safe_segment(name)
    return f"{safe_segment(stem)}.{safe_segment(extension, 10)}"


def evidence_path(reference: str, evidence_id: str, name: str) -> str:
    """evidence/<case reference>/<evidence id>-<safe file name>."""
    return f"evidence/{safe_segment(reference)}/{evidence_id}-{safe_filename(name)}"


def custody_path(evidence_id: str) -> str:
    """custody/<evidence id>.json."""
    return f"custody/{evidence_id}.json"


def custody_document(
    evidence_id: str, events: list[dict[str, Any]], *, complete: bool
) -> dict[str, Any]:
    """A chain of custody as the bundle carries it: whole, or reduced to its links."""
    if complete:
        return {"evidence_id": evidence_id, "complete": True, "events": events}
    links = []
    for event in events:
        link = {key: event[key] for key in LINK_KEYS}
        if event["event"] == "received":
            link["details"] = {k: event["details"].get(k) for k in RECEIPT_KEYS}
        links.append(link)
    return {"evidence_id": evidence_id, "complete": False, "note": REDACTED_NOTE, "events": links}
