"""The dossier PDF's HTML: cover, map, and one section per case with timeline and evidence.

Every piece of user text is escaped and carries dir="auto", so Arabic, Hebrew or Urdu runs
right to left wherever it appears; the font stack names DejaVu and Noto, which between them
cover the scripts the corps works in, and Pango falls back on any other installed font.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from html import escape

from cases.dossiers.content import CaseSection, DossierContent, EvidenceItem
from cases.dossiers.evidence_files import Outcome, Treatment
from cases.dossiers.map_svg import cases_map_svg, extent
from geo.privacy import Level

FONTS = (
    '"DejaVu Sans", "Noto Sans", "Noto Naskh Arabic", "Noto Sans Arabic", "Noto Sans Hebrew", '
    '"Noto Sans Devanagari", "Noto Sans Bengali", "Noto Sans Thai", "Noto Sans Ethiopic", '
    '"Noto Sans CJK SC", sans-serif'
)
LEVEL_TEXT = {
    Level.internal: "Internal: locations as the requesting organization may see them. "
    "Not for circulation outside the corps.",
    Level.partner: "Partner: locations of sensitive and high-risk cases are generalized to "
    "cells of about 5 km, and their photos are re-encoded without metadata.",
    Level.public: "Public: every location is generalized to a cell of about 22 km, high-risk "
    "cases are left out, dates are given to the month, place names, people's names, "
    "summaries and timeline descriptions are removed, and photos are re-encoded without "
    "their metadata (EXIF and GPS above all).",
}
CSS = f"""
@page {{ size: A4; margin: 18mm 16mm;
  @bottom-center {{ content: "EJ Corps dossier · page " counter(page) " of " counter(pages);
                    font-family: {FONTS}; font-size: 8pt; color: #666; }} }}
body {{ font-family: {FONTS}; font-size: 10pt; line-height: 1.35; color: #111; }}
h1 {{ font-size: 24pt; margin: 40mm 0 4mm; }}
h2 {{ font-size: 15pt; margin: 0 0 3mm; border-bottom: 1px solid #999; }}
h3 {{ font-size: 11pt; margin: 5mm 0 2mm; }}
section.case, section.map {{ break-before: page; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: start; vertical-align: top; padding: 1mm 1.5mm;
          border-bottom: 1px solid #ddd; }}
th {{ font-weight: bold; width: 32%; }}
table.list th {{ width: auto; background: #f2f2f2; }}
.hash {{ font-family: "DejaVu Sans Mono", monospace; font-size: 6.5pt; word-break: break-all; }}
.note {{ color: #555; font-size: 9pt; }}
.level {{ border: 1px solid #a12a26; padding: 3mm; margin-top: 8mm; }}
"""


@dataclass(frozen=True)
class Cover:
    """What the cover page states."""

    dossier_id: uuid.UUID
    level: Level
    generated_at: datetime
    evidence_included: bool
    withheld: str | None = None  # "3 cases withheld: high risk"


def _t(value: object) -> str:
    return escape("" if value is None else str(value))


def _cover(cover: Cover, content: DossierContent) -> str:
    campaign = content.campaign or {}
    title = campaign.get("title") or "Selected cases"
    rows = [
        ("Privacy level", cover.level.value),
        ("Generated", cover.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        ("Cases", str(len(content.cases))),
        ("Dossier", str(cover.dossier_id)),
    ]
    if campaign.get("target"):
        rows.insert(0, ("Target", campaign["target"]))
    table = "".join(f"<tr><th>{_t(k)}</th><td dir='auto'>{_t(v)}</td></tr>" for k, v in rows)
    rationale = campaign.get("rationale")
    return (
        f"<section class='cover'><h1 dir='auto'>{_t(title)}</h1>"
        f"<p>EJ Corps dossier</p><table>{table}</table>"
        + (f"<h3>Rationale</h3><p dir='auto'>{_t(rationale)}</p>" if rationale else "")
        + f"<p class='level'>{_t(LEVEL_TEXT[cover.level])}</p>"
        + (f"<p class='withheld'>{_t(cover.withheld)}</p>" if cover.withheld else "")
        + "<p class='note'>Every file of this dossier is listed with its SHA-256 in manifest.json; "
        "check the bundle offline with <code>corps verify-dossier</code> or "
        "<code>sha256sum -c manifest.sha256</code>.</p></section>"
    )


def _map(content: DossierContent) -> str:
    numbered = [(case.number, case.geometry) for case in content.cases]
    svg = cases_map_svg(numbered)
    box = extent([geometry for _, geometry in numbered])
    span = ""
    if box:
        span = f"Longitude {box[0]:.2f} to {box[2]:.2f}, latitude {box[1]:.2f} to {box[3]:.2f}. "
    legend = "".join(
        f"<li dir='auto'>{_t(c.reference)}: {_t(c.title)}"
        + (" (location generalized)" if c.generalized else "")
        + "</li>"
        for c in content.cases
    )
    return (
        f"<section class='map'><h2>Map of the cases</h2>{svg}"
        f"<p class='note'>{span}Numbers refer to the list below.</p><ol>{legend}</ol></section>"
    )


def _facts(case: CaseSection) -> str:
    respondents = ", ".join(
        f"{r['name']} ({r['kind'].replace('_', ' ')})"
        + (f" [{r['actor_name']}]" if r.get("actor_name") and r["actor_name"] != r["name"] else "")
        for r in case.respondents
    )
    rows = [
        ("Status", case.status),
        ("Issue types", ", ".join(t.replace("_", " ") for t in case.issue_types)),
        ("Country", case.country),
        ("Place", case.place_name),
        ("Opened", case.opened_on),
        ("People affected", case.people_affected),
        ("Respondents", respondents or None),
        ("Location", "generalized for this audience" if case.generalized else "as recorded"),
    ]
    return (
        "<table>"
        + "".join(
            f"<tr><th>{_t(k)}</th><td dir='auto'>{_t(v)}</td></tr>"
            for k, v in rows
            if v is not None
        )
        + "</table>"
    )


def _timeline(case: CaseSection) -> str:
    if not case.events:
        return "<p class='note'>No timeline events.</p>"
    head = "<tr><th>Date</th><th>Kind</th><th>Remedy</th><th>Outcome</th><th>Description</th></tr>"
    rows = "".join(
        f"<tr><td>{_t(e['occurred_on'])}</td><td>{_t(e['kind'].replace('_', ' '))}</td>"
        f"<td>{_t((e['remedy'] or '').replace('_', ' '))}</td><td>{_t(e['outcome'])}</td>"
        f"<td dir='auto'>{_t(e['description'])}"
        + (f" (due {_t(e['due_on'])})" if e["due_on"] else "")
        + "</td></tr>"
        for e in case.events
    )
    return f"<table class='list'>{head}{rows}</table>"


def _in_bundle(outcome: Outcome | None) -> str:
    if outcome is None:
        return "not part of this bundle (evidence was not requested)"
    if outcome.treatment == Treatment.original:
        return f"original: {_t(outcome.path)}"
    if outcome.treatment == Treatment.stripped:
        return (
            f"copy without metadata: {_t(outcome.path)}, "
            f"SHA-256 <span class='hash'>{_t(outcome.sha256)}</span>"
        )
    return f"withheld: {_t(outcome.reason)}"


def _evidence(items: list[EvidenceItem], outcomes: dict[uuid.UUID, Outcome]) -> str:
    if not items:
        return "<p class='note'>No evidence recorded.</p>"
    head = "<tr><th>Item</th><th>SHA-256 of the original</th><th>In this dossier</th></tr>"
    rows = "".join(
        f"<tr><td dir='auto'>{_t(item.kind)}, {_t(item.media_type)}, {item.size:,} bytes"
        + (f"<br>{_t(item.original_filename)}" if item.original_filename else "")
        + (f"<br>{_t(item.description)}" if item.description else "")
        + f"<br><span class='hash'>{item.id}</span></td>"
        f"<td class='hash'>{item.sha256}</td><td>{_in_bundle(outcomes.get(item.id))}</td></tr>"
        for item in items
    )
    return f"<table class='list'>{head}{rows}</table>"


def _case(case: CaseSection, outcomes: dict[uuid.UUID, Outcome]) -> str:
    summary = f"<p dir='auto'>{_t(case.summary)}</p>" if case.summary else ""
    return (
        f"<section class='case'><h2 dir='auto'>{case.number}. {_t(case.reference)}: "
        f"{_t(case.title)}</h2>{_facts(case)}{summary}"
        f"<h3>Timeline</h3>{_timeline(case)}"
        f"<h3>Evidence</h3>{_evidence(case.evidence, outcomes)}</section>"
    )


def dossier_html(cover: Cover, content: DossierContent, outcomes: dict[uuid.UUID, Outcome]) -> str:
    """The whole printable document as one HTML string."""
    title = (content.campaign or {}).get("title") or "EJ Corps dossier"
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_t(title)}</title><style>{CSS}</style></head><body>"
        + _cover(cover, content)
        + _map(content)
        + "".join(_case(case, outcomes) for case in content.cases)
        + "</body></html>"
    )
