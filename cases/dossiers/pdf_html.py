"""The dossier PDF's HTML: cover, summary, overview map, a section per case, how to verify.

Every piece of user text is escaped and carries dir="auto", so Arabic, Hebrew or Urdu runs
right to left wherever it appears; the font stack names DejaVu and Noto (Arabic, Myanmar,
Devanagari), installed by scripts/bootstrap.sh, and Pango falls back on any other installed
font for other scripts. The summary, map and annex pages live in pdf_sections.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cases.dossiers.content import CaseSection, DossierContent, EvidenceItem
from cases.dossiers.evidence_files import Outcome, Treatment
from cases.dossiers.pdf_evidence import custody_sentence
from cases.dossiers.pdf_sections import (
    country_name,
    overview_page,
    summary_page,
    t,
    verify_annex,
    words,
)
from geo.privacy import Level

# A short stack is faster to lay out (Pango asks fontconfig per run of text); scripts it does
# not name (Hebrew, Bengali, Thai, Ethiopic, CJK) reach their Noto faces by fontconfig's
# fallback.
FONTS = '"EJ Arabic", "DejaVu Sans", "Noto Sans Myanmar", "Noto Sans Devanagari", sans-serif'
LEVEL_TEXT = {
    Level.internal: "Internal: locations as the requesting organization may see them. "
    "Not for circulation outside the corps.",
    Level.partner: "Partner: locations of sensitive and high-risk cases are generalized to "
    "cells of about 5 km, their place names and summaries are left out, and their photos are "
    "re-encoded without metadata.",
    Level.public: "Public: every location is generalized to a cell of about 22 km, high-risk "
    "cases are left out, dates are given to the month, place names, people's names and "
    "summaries are removed, timeline descriptions are redacted, and photos are re-encoded "
    "without their metadata (EXIF and GPS above all).",
}
# DejaVu Sans has Arabic letters too, but Noto Naskh Arabic is the book face readers expect:
# it takes the Arabic ranges (as "EJ Arabic", so no other character reaches it), DejaVu the rest.
NOTO = "file:///usr/share/fonts/truetype/noto"  # fonts-noto-core, from scripts/bootstrap.sh
ARABIC_RANGES = "U+0600-06FF, U+0750-077F, U+08A0-08FF, U+FB50-FDFF, U+FE70-FEFF"
ARABIC_FACE = f"""
@font-face {{ font-family: "EJ Arabic"; src: url("{NOTO}/NotoNaskhArabic-Regular.ttf");
  unicode-range: {ARABIC_RANGES}; }}
@font-face {{ font-family: "EJ Arabic"; font-weight: bold;
  src: url("{NOTO}/NotoNaskhArabic-Bold.ttf"); unicode-range: {ARABIC_RANGES}; }}
"""
CSS = (
    ARABIC_FACE
    + f"""
@page {{ size: A4; margin: 18mm 16mm 20mm;
  @bottom-center {{ content: "EJ Corps dossier · page " counter(page) " of " counter(pages);
                    font-family: {FONTS}; font-size: 8pt; color: #666; }} }}
body {{ font-family: {FONTS}; font-size: 10pt; line-height: 1.35; color: #111; }}
h1 {{ font-size: 26pt; margin: 30mm 0 2mm; line-height: 1.15; }}
h2 {{ font-size: 15pt; margin: 0 0 3mm; border-bottom: 1.5px solid #a12a26; }}
h3 {{ font-size: 11pt; margin: 5mm 0 2mm; color: #a12a26; break-after: avoid; }}
thead {{ display: table-header-group; }}
.together {{ break-inside: avoid; }}
section.case, section.map, section.summary, section.annex {{ break-before: page; }}
table {{ border-collapse: collapse; width: 100%; table-layout: fixed; }}
th, td {{ text-align: start; vertical-align: top; padding: 1mm 1.5mm;
          border-bottom: 1px solid #ddd; }}
th {{ font-weight: bold; width: 30%; }}
table.list th {{ width: auto; background: #f2f2f2; }}
.hash {{ font-family: "DejaVu Sans Mono", monospace; font-size: 6.5pt; word-break: break-all; }}
.note {{ color: #555; font-size: 9pt; }}
.kicker {{ font-size: 13pt; color: #a12a26; letter-spacing: .5pt; margin: 0; }}
.level {{ border: 1px solid #a12a26; padding: 3mm; margin-top: 8mm; }}
.withheld {{ font-weight: bold; color: #a12a26; }}
.cover table {{ margin-top: 10mm; }}
figure.locator {{ margin: 3mm 0; text-align: center; }}
figure.locator figcaption {{ font-size: 8.5pt; color: #555; }}
.photos {{ margin: 2mm 0; }}
.photos figure {{ display: inline-block; width: 52mm; margin: 0 2mm 2mm 0; vertical-align: top; }}
.photos img {{ max-width: 52mm; max-height: 40mm; border: 1px solid #ccc; }}
.photos figcaption {{ font-size: 7.5pt; color: #555; }}
table.legend td {{ font-size: 8.5pt; border: none; padding: .4mm 1mm; width: 50%; }}
pre {{ font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; background: #f4f4f4;
       padding: 2mm; white-space: pre-wrap; word-break: break-all; }}
.custody {{ font-size: 8.5pt; }}
"""
)


@dataclass(frozen=True)
class Cover:
    """What the cover page states."""

    dossier_id: uuid.UUID
    level: Level
    generated_at: datetime
    evidence_included: bool
    withheld: str | None = None  # "3 cases withheld: high risk"


@dataclass
class Drawn:
    """What the document shows beyond the content: maps, thumbnails, chains, signer."""

    overview_svg: str = ""
    locators: dict[uuid.UUID, str] = field(default_factory=dict)
    thumbnails: dict[uuid.UUID, str] = field(default_factory=dict)
    chains: dict[uuid.UUID, list[dict[str, Any]]] = field(default_factory=dict)
    organizations: dict[str, str] = field(default_factory=dict)
    signer: dict[str, Any] = field(default_factory=dict)
    anchors: dict[str, Any] = field(default_factory=dict)


def _cover(cover: Cover, content: DossierContent, drawn: Drawn) -> str:
    campaign = content.campaign or {}
    title = campaign.get("title") or "Selected cases"
    rows = [
        ("Privacy level", cover.level.value),
        ("Generated", cover.generated_at.strftime("%d %B %Y, %H:%M UTC")),
        ("Cases", str(len(content.cases))),
        ("Signed by", f"{drawn.signer.get('signer', '?')} (key {drawn.signer.get('key_id')})"),
        ("Dossier", str(cover.dossier_id)),
    ]
    if campaign.get("target"):
        rows.insert(0, ("Target", campaign["target"]))
    table = "".join(f"<tr><th>{t(k)}</th><td dir='auto'>{t(v)}</td></tr>" for k, v in rows)
    rationale = campaign.get("rationale")
    return (
        "<section class='cover'><p class='kicker'>ENVIRONMENTAL JUSTICE CORPS · DOSSIER</p>"
        f"<h1 dir='auto'>{t(title)}</h1><table>{table}</table>"
        + (f"<h3>Rationale</h3><p dir='auto'>{t(rationale)}</p>" if rationale else "")
        + f"<p class='level'>{t(LEVEL_TEXT[cover.level])}</p>"
        + (f"<p class='withheld'>{t(cover.withheld)}.</p>" if cover.withheld else "")
        + "<p class='note'>This document is part of a signed bundle. Every file is listed "
        "with its SHA-256 in manifest.json, which the corps signed; the last pages say how "
        "to check it, offline, with one command.</p></section>"
    )


def _facts(case: CaseSection, organizations: dict[str, str]) -> str:
    respondents = ", ".join(
        f"{r['name']} ({words(r['kind'])})"
        + (f" [{r['actor_name']}]" if r.get("actor_name") and r["actor_name"] != r["name"] else "")
        for r in case.respondents
    )
    rows = [
        ("Organization", organizations.get(case.organization_id)),
        ("Status", words(case.status)),
        ("Issue types", ", ".join(words(i) for i in case.issue_types)),
        ("Country", country_name(case.country)),
        ("Place", case.place_name),
        ("Opened", case.opened_on),
        ("People affected", f"{case.people_affected:,}" if case.people_affected else None),
        ("Respondents", respondents or None),
        ("Location", "generalized for this audience" if case.generalized else "as recorded"),
    ]
    body = "".join(
        f"<tr><th>{t(k)}</th><td dir='auto'>{t(v)}</td></tr>" for k, v in rows if v is not None
    )
    return f"<table>{body}</table>"


def _timeline(case: CaseSection) -> str:
    if not case.events:
        return "<p class='note'>No timeline events.</p>"
    head = (
        "<thead><tr><th style='width:14%'>Date</th><th style='width:14%'>Kind</th>"
        "<th style='width:18%'>Remedy</th><th style='width:12%'>Outcome</th>"
        "<th>Description</th></tr></thead>"
    )
    rows = "".join(
        f"<tr><td>{t(e['occurred_on'])}</td><td>{t(words(e['kind']))}</td>"
        f"<td>{t(words(e['remedy']))}</td><td>{t(e['outcome'])}</td>"
        f"<td dir='auto'>{t(e['description'])}"
        + (f" (due {t(e['due_on'])})" if e["due_on"] else "")
        + "</td></tr>"
        for e in case.events
    )
    return f"<table class='list'>{head}{rows}</table>"


def _in_bundle(outcome: Outcome | None) -> str:
    if outcome is None:
        return "not part of this bundle (evidence files were not requested)"
    if outcome.treatment == Treatment.original:
        return f"the original, re-checked against its SHA-256 for this dossier: {t(outcome.path)}"
    if outcome.treatment == Treatment.stripped:
        return (
            f"a copy without metadata: {t(outcome.path)}, "
            f"SHA-256 <span class='hash'>{t(outcome.sha256)}</span>"
        )
    return f"withheld: {t(outcome.reason)}"


def _capture(item: EvidenceItem) -> str:
    parts = []
    if item.captured_at:
        parts.append(f"captured {t(item.captured_at.replace('T', ' '))}")
    if item.capture_place:
        lon, lat = item.capture_place.get("lon"), item.capture_place.get("lat")
        parts.append(f"at {lat:.5f}, {lon:.5f} (latitude, longitude)")
    if item.device:
        parts.append(f"with {t(item.device)}")
    return " ".join(parts) or "capture time and place not recorded or not shown at this level"


def _evidence(
    case: CaseSection, outcomes: dict[uuid.UUID, Outcome], drawn: Drawn, month_only: bool
) -> str:
    if not case.evidence:
        return "<p class='note'>No evidence recorded.</p>"
    head = (
        "<thead><tr><th style='width:30%'>Item</th>"
        "<th>SHA-256 of the original, capture, custody</th></tr></thead>"
    )
    rows = []
    for item in case.evidence:
        sentence = custody_sentence(item, drawn.chains.get(item.id, []), month_only=month_only)
        rows.append(
            f"<tr><td dir='auto'>{t(item.kind)}, {t(item.media_type)}, {item.size:,} bytes"
            + (f"<br>{t(item.original_filename)}" if item.original_filename else "")
            + (f"<br>{t(item.description)}" if item.description else "")
            + f"</td><td><span class='hash'>{item.sha256}</span><br>{_capture(item)}"
            f"<br><span class='custody'>{t(sentence)}</span>"
            f"<br><span class='note'>In this dossier: {_in_bundle(outcomes.get(item.id))}</span>"
            "</td></tr>"
        )
    return f"<table class='list'>{head}{''.join(rows)}</table>"


def _photos(case: CaseSection, drawn: Drawn) -> str:
    shown = [
        (item, drawn.thumbnails[item.id]) for item in case.evidence if item.id in drawn.thumbnails
    ]
    if not shown:
        return ""
    figures = "".join(
        f"<figure><img src='{uri}' alt='photo {index}'>"
        f"<figcaption>Photo {index}: SHA-256 {item.sha256[:16]}…</figcaption></figure>"
        for index, (item, uri) in enumerate(shown, start=1)
    )
    return f"<h3>Photos</h3><div class='photos'>{figures}</div>"


def _case(case: CaseSection, outcomes: dict[uuid.UUID, Outcome], drawn: Drawn, level: Level) -> str:
    summary = f"<p dir='auto'>{t(case.summary)}</p>" if case.summary else ""
    locator = drawn.locators.get(case.id, "")
    if locator:
        caption = (
            "The grid cell that contains the case: its true place is not shown at this level."
            if case.generalized
            else "The case's recorded place."
        )
        locator = f"<figure class='locator'>{locator}<figcaption>{caption}</figcaption></figure>"
    return (
        f"<section class='case'><h2 dir='auto'>{case.number}. {t(case.reference)}: "
        f"{t(case.title)}</h2>{_facts(case, drawn.organizations)}{locator}{summary}"
        f"{_photos(case, drawn)}"
        + _keep_together(f"<h3>Timeline</h3>{_timeline(case)}", len(case.events) <= 8)
        + _keep_together(
            f"<h3>Evidence</h3>{_evidence(case, outcomes, drawn, level == Level.public)}",
            len(case.evidence) <= 3,
        )
        + "</section>"
    )


def _keep_together(html: str, small: bool) -> str:
    """A heading and a short table on one page, never the heading alone at a page's foot."""
    return f"<div class='together'>{html}</div>" if small else html


def dossier_html(
    cover: Cover, content: DossierContent, outcomes: dict[uuid.UUID, Outcome], drawn: Drawn
) -> str:
    """The whole printable document as one HTML string."""
    title = (content.campaign or {}).get("title") or "EJ Corps dossier"
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{t(title)}</title><meta name='author' content='EJ Corps'>"
        f"<style>{CSS}</style></head><body>"
        + _cover(cover, content, drawn)
        + summary_page(content, drawn.organizations, cover.withheld)
        + (overview_page(content, drawn.overview_svg) if drawn.overview_svg else "")
        + "".join(_case(case, outcomes, drawn, cover.level) for case in content.cases)
        + verify_annex(str(cover.dossier_id), drawn.signer, drawn.anchors)
        + "</body></html>"
    )
