"""Filling the bundle: evidence, chains of custody, case files, the PDF, then the manifest."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cases.dossiers.bundle import Bundle
from cases.dossiers.content import DossierContent, EvidenceItem, case_statement, load_content
from cases.dossiers.evidence_files import (
    Outcome,
    Treatment,
    add_original,
    add_stripped,
    treatment_for,
    withheld_entry,
)
from cases.dossiers.manifest import (
    CHECKSUMS,
    FORMAT,
    MANIFEST,
    checksum_lines,
    custody_document,
    custody_path,
    sealed_manifest,
)
from cases.dossiers.pdf import render_pdf
from cases.dossiers.pdf_html import Cover, dossier_html
from cases.dossiers.progress import Progress
from cases.evidence.custody import as_plain
from cases.evidence.models import CustodyEvent
from cases.evidence.storage import Storage
from corps.auth.actor import Actor
from geo.export import STREAMS, ExportFormat, Viewer
from geo.privacy import Level

GIS_FORMATS = ("geojson", "kml", "gpkg", "csv")
WITHHELD = (
    "withheld: the case's location is generalized for this audience and a file of this kind "
    "can carry the exact place in its metadata; ask the organization for the original"
)
CHAIN_BATCH = 500


class NothingToExport(Exception):
    """No case of the request is left to put in the dossier."""


@dataclass(frozen=True)
class Order:
    """What to build: the dossier row's request, as claimed by this attempt."""

    dossier_id: uuid.UUID
    level: Level
    formats: list[str]
    case_ids: list[uuid.UUID]
    campaign_id: uuid.UUID | None
    generated_at: datetime


@dataclass
class Built:
    """A finished bundle on local disk and what went into it."""

    path: Path
    sha256: str
    size: int
    case_count: int
    exported: list[tuple[EvidenceItem, Outcome]]
    withheld: int
    timings: dict[str, float] = field(default_factory=dict)


async def _add_evidence(
    bundle: Bundle, storage: Storage, content: DossierContent, workdir: Path, progress: Progress
) -> tuple[dict[uuid.UUID, Outcome], list[dict[str, Any]]]:
    plan = [
        (item, treatment_for(item, generalized=case.generalized))
        for case in content.cases
        for item in case.evidence
    ]
    progress.span(0.05, 0.85, sum(i.size for i, t in plan if t != Treatment.withheld))
    await progress.stage("copying and re-verifying the evidence", 0.05)
    outcomes: dict[uuid.UUID, Outcome] = {}
    withheld: list[dict[str, Any]] = []
    for item, treatment in plan:
        if treatment == Treatment.original:
            outcome = await add_original(bundle, storage, item, progress.advance)
        elif treatment == Treatment.stripped:
            outcome = await add_stripped(
                bundle,
                storage,
                item,
                workdir,
                progress.advance,
                keep_name=content.level != Level.public,
            )
        else:
            outcome = Outcome(Treatment.withheld, reason=WITHHELD)
        if outcome.treatment == Treatment.withheld:
            withheld.append(withheld_entry(item, outcome.reason or WITHHELD))
        outcomes[item.id] = outcome
    return outcomes, withheld


async def _chains(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    chains: dict[uuid.UUID, list[Any]] = {i: [] for i in ids}
    for start in range(0, len(ids), CHAIN_BATCH):
        rows = await session.scalars(
            select(CustodyEvent)
            .where(CustodyEvent.evidence_id.in_(ids[start : start + CHAIN_BATCH]))
            .order_by(CustodyEvent.evidence_id, CustodyEvent.seq)
        )
        for row in rows:
            chains[row.evidence_id].append(as_plain(row))
    return chains


async def _add_custody(
    bundle: Bundle,
    factory: async_sessionmaker[AsyncSession],
    content: DossierContent,
    outcomes: dict[uuid.UUID, Outcome],
) -> None:
    generalized = {item.id: case.generalized for case in content.cases for item in case.evidence}
    included = [i for i, o in outcomes.items() if o.treatment != Treatment.withheld]
    async with factory() as session:
        chains = await _chains(session, included)
    for evidence_id in included:
        document = custody_document(
            str(evidence_id), chains[evidence_id], complete=not generalized[evidence_id]
        )
        await bundle.add_bytes(
            custody_path(str(evidence_id)),
            orjson.dumps(document, option=orjson.OPT_INDENT_2),
            compress=True,
            evidence_id=str(evidence_id),
        )


async def _add_pdf(
    bundle: Bundle,
    order: Order,
    content: DossierContent,
    outcomes: dict[uuid.UUID, Outcome],
    workdir: Path,
) -> None:
    cover = Cover(
        dossier_id=order.dossier_id,
        level=order.level,
        generated_at=order.generated_at,
        evidence_included="evidence" in order.formats,
    )
    html_path, pdf_path = workdir / "dossier.html", workdir / "dossier.pdf"
    html = dossier_html(cover, content, outcomes)
    await asyncio.to_thread(html_path.write_text, html, "utf-8")
    await render_pdf(html_path, pdf_path)
    await bundle.add_file("dossier.pdf", pdf_path, compress=False)


def _manifest(order: Order, content: DossierContent, bundle: Bundle, withheld: list[Any]) -> Any:
    return {
        "format": FORMAT,
        "dossier_id": str(order.dossier_id),
        "generated_at": order.generated_at.isoformat(),
        "level": order.level.value,
        "formats": order.formats,
        "case_count": len(content.cases),
        "cases": [
            {"id": str(c.id), "reference": c.reference, "location_generalized": c.generalized}
            for c in content.cases
        ],
        "files": bundle.files,
        "withheld": withheld,
    }


def _hash_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


async def assemble(
    *,
    factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    storage: Storage,
    actor: Actor,
    order: Order,
    workdir: Path,
    progress: Progress,
) -> Built:
    """Write the whole bundle into workdir and return it with its hash and size."""
    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        timings[name] = round(time.monotonic() - clock, 3)
        clock = time.monotonic()

    async with factory() as session:
        content = await load_content(session, actor, order.level, order.case_ids, order.campaign_id)
    if not content.cases:
        raise NothingToExport("No case of the request is left to export at this level.")
    lap("collect_s")
    bundle = Bundle(workdir / "bundle.zip", order.generated_at)
    try:
        outcomes: dict[uuid.UUID, Outcome] = {}
        withheld: list[dict[str, Any]] = []
        if "evidence" in order.formats:
            outcomes, withheld = await _add_evidence(bundle, storage, content, workdir, progress)
            lap("evidence_s")
            await progress.stage("adding the chains of custody", 0.86)
            await _add_custody(bundle, factory, content, outcomes)
            lap("custody_s")
        await progress.stage("writing the case files", 0.88)
        statement = case_statement(order.level, [c.id for c in content.cases])
        for fmt in (f for f in GIS_FORMATS if f in order.formats):
            stream = STREAMS[ExportFormat(fmt)](engine, statement, Viewer.of(actor))
            await bundle.add_stream(f"cases.{fmt}", stream, compress=True)
        lap("case_files_s")
        if "pdf" in order.formats:
            await progress.stage("rendering the PDF", 0.9)
            await _add_pdf(bundle, order, content, outcomes, workdir)
            lap("pdf_s")
        await progress.stage("sealing the manifest", 0.95)
        manifest = sealed_manifest(_manifest(order, content, bundle, withheld))
        own = await bundle.add_unlisted(MANIFEST, manifest)
        await bundle.add_unlisted(CHECKSUMS, checksum_lines(bundle.files, own.sha256))
        await bundle.close()
    except BaseException:
        bundle.abandon()
        raise
    sha256 = await asyncio.to_thread(_hash_file, bundle.path)
    lap("seal_s")
    exported = [
        (item, outcomes[item.id])
        for case in content.cases
        for item in case.evidence
        if item.id in outcomes and outcomes[item.id].treatment != Treatment.withheld
    ]
    return Built(
        path=bundle.path,
        sha256=sha256,
        size=bundle.path.stat().st_size,
        case_count=len(content.cases),
        exported=exported,
        withheld=len(withheld),
        timings=timings,
    )
