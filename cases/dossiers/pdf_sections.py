"""The dossier PDF's summary page, overview map page and "How to verify this dossier" annex."""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

import pycountry

from cases.dossiers.content import DossierContent

TOP = 5


def t(value: object) -> str:
    """Escaped text; None is empty."""
    return escape("" if value is None else str(value))


def country_name(code: str | None) -> str:
    """A country's short name from its ISO code, or the code itself."""
    found = pycountry.countries.get(alpha_2=code) if code else None
    return found.name if found else (code or "?")


def words(value: str | None) -> str:
    """A vocabulary value as words: "administrative_complaint" → "administrative complaint"."""
    return (value or "").replace("_", " ")


def _counted(counter: Counter[str], limit: int = TOP) -> str:
    return ", ".join(f"{t(name)} ({n})" for name, n in counter.most_common(limit)) or "none"


def summary_facts(content: DossierContent, organizations: dict[str, str]) -> list[tuple[str, str]]:
    """The summary page's rows, each computed from the cases as the level shows them."""
    cases = content.cases
    orgs = Counter(organizations.get(c.organization_id, "?") for c in cases)
    countries = Counter(country_name(c.country) for c in cases)
    known = [c.people_affected for c in cases if c.people_affected is not None]
    respondents: Counter[str] = Counter()
    for case in cases:
        for name in {r["name"] for r in case.respondents}:
            respondents[name] += 1
    sought: Counter[str] = Counter()
    obtained: Counter[str] = Counter()
    for case in cases:
        for event in case.events:
            if event.get("remedy"):
                sought[words(event["remedy"])] += 1
                if event.get("outcome") in ("obtained", "partial"):
                    obtained[f"{words(event['remedy'])}, {event['outcome']}"] += 1
    dates = sorted(
        d
        for case in cases
        for d in [case.opened_on, *(e.get("occurred_on") for e in case.events)]
        if d
    )
    issues = Counter(words(i) for c in cases for i in c.issue_types)
    statuses = Counter(words(c.status) for c in cases)
    people = f"{sum(known):,}" + (
        f" (recorded for {len(known)} of {len(cases)} cases)" if len(known) < len(cases) else ""
    )
    return [
        ("Cases", f"{len(cases)}"),
        ("Organizations", f"{len(orgs)}: {_counted(orgs, 8)}"),
        ("Countries", f"{len(countries)}: {_counted(countries, 10)}"),
        ("People affected", people),
        ("Respondents named most often", _counted(respondents)),
        ("Remedies sought", _counted(sought)),
        ("Remedies obtained", _counted(obtained)),
        ("Issues", _counted(issues, 8)),
        ("Status", _counted(statuses)),
        ("Dates", f"{dates[0]} to {dates[-1]}" if dates else "none recorded"),
    ]


def summary_page(
    content: DossierContent, organizations: dict[str, str], withheld: str | None
) -> str:
    """A one-page summary written from the data."""
    rows = "".join(
        f"<tr><th>{t(k)}</th><td dir='auto'>{v}</td></tr>"
        for k, v in summary_facts(content, organizations)
    )
    note = f"<p class='withheld'>{t(withheld)}.</p>" if withheld else ""
    return (
        "<section class='summary'><h2>Summary</h2>"
        "<p>What this dossier holds, counted from its cases as this privacy level shows them.</p>"
        f"<table>{rows}</table>{note}</section>"
    )


def overview_page(content: DossierContent, svg: str) -> str:
    """The overview map and its numbered legend."""
    entries = [
        f"<td dir='auto'><b>{c.number}</b> {t(c.reference)}: {t(c.title)}"
        + (" <i>(location generalized)</i>" if c.generalized else "")
        + "</td>"
        for c in content.cases
    ]
    half = (len(entries) + 1) // 2  # two columns, read down then across, as a table
    rows = "".join(
        "<tr>"
        + entries[i]
        + (entries[half + i] if half + i < len(entries) else "<td></td>")
        + "</tr>"
        for i in range(half)
    )
    generalized = sum(1 for c in content.cases if c.generalized)
    caption = (
        "Country outlines: Natural Earth (public domain). Numbers are the cases listed below; "
        "coordinates are degrees of longitude and latitude (WGS 84). The inset marks the "
        "map's area on the world."
    )
    if generalized:
        caption += (
            f" {generalized} case{'s are' if generalized != 1 else ' is'} drawn as the grid "
            "cell that contains it, not its true place."
        )
    return (
        f"<section class='map'><h2>Map of the cases</h2>{svg}"
        f"<p class='note'>{t(caption)}</p><table class='legend'>{rows}</table></section>"
    )


def _pending(count: int) -> str:
    """The entries not yet sealed when the dossier was made, in words; nothing when none."""
    if not count:
        return ""
    return f" ({count} newer {'entry was' if count == 1 else 'entries were'} waiting to be sealed)"


def verify_annex(dossier_id: str, signer: dict[str, Any], anchors: dict[str, Any]) -> str:
    """Annex: how anyone checks the bundle, in plain words and exact commands."""
    head = anchors.get("audit_head") or {}
    steps = [
        (
            "Get the corps' public keys, once, from the corps' own site (no login):",
            "curl -o keys.json https://<corps address>/api/v1/dossiers/signing-keys",
        ),
        (
            "Check the whole bundle, offline: the signature, every file's SHA-256, and every "
            "chain of custody:",
            f"corps verify-dossier ejcorps-dossier-{dossier_id}.zip --key keys.json",
        ),
        (
            "Without EJ Corps installed, check each file's hash with the tools of any computer:",
            "unzip ejcorps-dossier-….zip -d dossier && cd dossier && sha256sum -c manifest.sha256",
        ),
        (
            "And the signature itself with OpenSSL 3, from the signing key's public_key_pem in "
            "keys.json and the base64 signature in manifest.sig:",
            "python3 -c \"import json, base64; s = json.load(open('manifest.sig')); "
            "k = [k for k in json.load(open('keys.json'))['keys'] if k['key_id'] == s['key_id']]; "
            "open('corps-key.pem', 'w').write(k[0]['public_key_pem']); "
            "open('manifest.sig.bin', 'wb').write(base64.b64decode(s['signature']))\"\n"
            "openssl pkeyutl -verify -pubin -inkey corps-key.pem -rawin "
            "-in manifest.json -sigfile manifest.sig.bin",
        ),
    ]
    items = "".join(f"<li>{t(text)}<pre>{t(command)}</pre></li>" for text, command in steps)
    return (
        "<section class='annex'><h2>Annex: How to verify this dossier</h2>"
        "<p>This PDF is one file of a ZIP bundle. The bundle's <code>manifest.json</code> lists "
        "every other file with its SHA-256 fingerprint; change one byte of any file and its "
        "fingerprint no longer matches. The manifest itself is signed with the corps' Ed25519 "
        f"key <b>{t(signer.get('key_id'))}</b> ({t(signer.get('signer'))}), at "
        f"{t(signer.get('signed_at'))}; the signature is in <code>manifest.sig</code>. A "
        "signature that checks against the published key proves the manifest, and through "
        "its fingerprints every file, is as the corps issued it.</p>"
        f"<ol>{items}</ol>"
        "<p>The command answers INTACT and names the signer and the time, or lists every "
        "problem it found, for example a file whose fingerprint differs or a signature "
        "made with another key. Old dossiers stay verifiable after the corps changes its key: "
        "the published list keeps every key with the dates it was in use.</p>"
        "<p>Each evidence item's chain of custody is in <code>custody/</code>: every event "
        "(received, viewed, verified, exported) is sealed with the hash of the one before, so "
        "a removed or edited event shows. When this dossier was made the corps' sealed audit "
        f"chain ended at entry {t(head.get('id'))} with hash "
        f"<span class='hash'>{t(head.get('hash'))}</span>{_pending(head.get('pending', 0))}; "
        "the manifest records it and the "
        "last hash of each included item's chain, so a later truncation of either is "
        "detected (<code>corps verify-audit</code>).</p></section>"
    )
