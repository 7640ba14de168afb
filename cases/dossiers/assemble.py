"""Filling the bundle: evidence, chains of custody, case files, the PDF, then the manifest."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cases.dossiers.anchors import audit_head, custody_heads
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
from cases.dossiers.pdf_build import render_dossier_pdf
from cases.dossiers.pdf_html import Cover
from cases.dossiers.progress import Progress
from cases.dossiers.settings import dossier_settings
from cases.dossiers.signing import SIGNATURE, Signer, SigningKeyError, current_signer
from cases.evidence.custody import as_plain
from cases.evidence.models import CustodyEvent
from cases.export_rows import batches
from corps.audit_seal import seal_pending
from corps.auth.actor import Actor
from corps.settings import get_settings
from corps.storage import Storage
from corps.viewer import Viewer
from geo.privacy import Level
from geo.writers import STREAMS, ExportFormat

GIS_FORMATS = ("geojson", "kml", "gpkg", "csv")
WITHHELD = (
    "withheld: the case's location is generalized for this audience and a file of this kind "
    "can carry the exact place in its metadata; ask the organization for the original"
)
CHAIN_BATCH = 500


class NothingToExport(Exception):
    """No case of the request is left to put in the dossier."""


class NotSigned(Exception):
    """The corps has no usable signing key, so no bundle can be sealed."""


def signer_for_build() -> Signer:
    """The key this build signs with; in dev and test one is made where none exists."""
    settings = dossier_settings()
    make = settings.signer_name if get_settings().env != "prod" else None
    try:
        return current_signer(settings.signing_key_dir, make_if_missing=make)
    except SigningKeyError as exc:
        raise NotSigned(f"The dossier cannot be signed: {exc}.") from exc


@dataclass(frozen=True)
class Order:
    """What to build: the dossier row's request, as claimed by this attempt."""

    dossier_id: uuid.UUID
    level: Level
    formats: list[str]
    case_ids: list[uuid.UUID]
    campaign_id: uuid.UUID | None
    generated_at: datetime
    withheld_cases: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Built:
    """A finished bundle on local disk and what went into it."""

    path: Path
    sha256: str
    size: int
    case_count: int
    exported: list[tuple[EvidenceItem, Outcome]]
    withheld: int
    anchors: dict[str, Any] = field(default_factory=dict)
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
    content: DossierContent,
    outcomes: dict[uuid.UUID, Outcome],
    chains: dict[uuid.UUID, list[Any]],
    workdir: Path,
) -> list[dict[str, str]]:
    """The custody files, in the bundle and on disk for the PDF to embed."""
    generalized = {item.id: case.generalized for case in content.cases for item in case.evidence}
    included = [i for i, o in outcomes.items() if o.treatment != Treatment.withheld]
    (workdir / "custody").mkdir(exist_ok=True)
    attachments = []
    for evidence_id in included:
        document = custody_document(
            str(evidence_id), chains[evidence_id], complete=not generalized[evidence_id]
        )
        data = orjson.dumps(document, option=orjson.OPT_INDENT_2)
        name = custody_path(str(evidence_id))
        await bundle.add_bytes(name, data, compress=True, evidence_id=str(evidence_id))
        local = workdir / name
        await asyncio.to_thread(local.write_bytes, data)
        attachments.append(
            {"path": str(local), "name": name, "description": "chain of custody (JSON)"}
        )
    return attachments


async def _add_case_file(
    bundle: Bundle, engine: AsyncEngine, statement: Any, fmt: str, workdir: Path, viewer: Viewer
) -> dict[str, str]:
    """One case file, written to disk first so the PDF can embed it too."""
    name = f"cases.{fmt}"
    local = workdir / name
    with local.open("wb") as fh:
        async for chunk in STREAMS[ExportFormat(fmt)](batches(engine, statement, viewer)):
            await asyncio.to_thread(fh.write, chunk)
    await bundle.add_file(name, local, compress=True)
    return {"path": str(local), "name": name, "description": f"the cases as {fmt.upper()}"}


async def _add_pdf(
    bundle: Bundle,
    factory: async_sessionmaker[AsyncSession],
    storage: Storage,
    order: Order,
    content: DossierContent,
    outcomes: dict[uuid.UUID, Outcome],
    chains: dict[uuid.UUID, list[Any]],
    workdir: Path,
    sealed: dict[str, Any],
    attachments: list[dict[str, str]],
) -> None:
    cover = Cover(
        dossier_id=order.dossier_id,
        level=order.level,
        generated_at=order.generated_at,
        evidence_included="evidence" in order.formats,
        withheld=withheld_summary(order.withheld_cases),
    )
    pdf_path = await render_dossier_pdf(
        factory=factory,
        storage=storage,
        cover=cover,
        content=content,
        outcomes=outcomes,
        chains=chains,
        signer=sealed["signed_by"],
        anchors=sealed["anchors"],
        attachments=attachments,
        workdir=workdir,
    )
    await bundle.add_file("dossier.pdf", pdf_path, compress=False)


def withheld_summary(withheld_cases: list[dict[str, Any]]) -> str | None:
    """ "3 cases withheld: high risk", from the withheld list (None when nothing was)."""
    if not withheld_cases:
        return None
    reasons = sorted({w["reason"] for w in withheld_cases})
    count = len(withheld_cases)
    return f"{count} case{'s' if count != 1 else ''} withheld: {', '.join(reasons)}"


async def _anchors(
    factory: async_sessionmaker[AsyncSession], content: DossierContent
) -> dict[str, Any]:
    ids = [item.id for case in content.cases for item in case.evidence]
    # Chain what is committed so far, so the head anchors the most it can.
    await seal_pending(factory)
    async with factory() as session:
        return {
            "audit_head": await audit_head(session),
            "custody_heads": await custody_heads(session, ids),
        }


def _manifest(
    order: Order,
    content: DossierContent,
    bundle: Bundle,
    withheld: list[Any],
    extra: dict[str, Any],
) -> Any:
    return {
        **extra,
        "withheld_cases": [
            {"reference": w["reference"], "reason": w["reason"]} for w in order.withheld_cases
        ],
        "withheld_cases_summary": withheld_summary(order.withheld_cases),
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

    signer = await asyncio.to_thread(signer_for_build)
    signed_at = datetime.now(UTC)  # within the key's validity: it was the key in use now
    async with factory() as session:
        content = await load_content(session, actor, order.level, order.case_ids, order.campaign_id)
    if not content.cases:
        raise NothingToExport("No case of the request is left to export at this level.")
    anchors = await _anchors(factory, content)
    lap("collect_s")
    bundle = Bundle(workdir / "bundle.zip", order.generated_at)
    try:
        outcomes: dict[uuid.UUID, Outcome] = {}
        withheld: list[dict[str, Any]] = []
        attachments: list[dict[str, str]] = []
        async with factory() as session:
            chains = await _chains(
                session, [item.id for case in content.cases for item in case.evidence]
            )
        if "evidence" in order.formats:
            outcomes, withheld = await _add_evidence(bundle, storage, content, workdir, progress)
            lap("evidence_s")
            await progress.stage("adding the chains of custody", 0.86)
            attachments += await _add_custody(bundle, content, outcomes, chains, workdir)
            lap("custody_s")
        await progress.stage("writing the case files", 0.88)
        statement = case_statement(order.level, [c.id for c in content.cases])
        for fmt in (f for f in GIS_FORMATS if f in order.formats):
            attachments.insert(
                0, await _add_case_file(bundle, engine, statement, fmt, workdir, Viewer.of(actor))
            )
        lap("case_files_s")
        extra = {"anchors": anchors, "signed_by": signer.signed_by(signed_at)}
        if "pdf" in order.formats:
            await progress.stage("rendering the PDF", 0.9)
            await _add_pdf(
                bundle,
                factory,
                storage,
                order,
                content,
                outcomes,
                chains,
                workdir,
                extra,
                attachments,
            )
            lap("pdf_s")
        await progress.stage("sealing the manifest", 0.95)
        manifest = sealed_manifest(_manifest(order, content, bundle, withheld, extra))
        own = await bundle.add_unlisted(MANIFEST, manifest)
        await bundle.add_unlisted(CHECKSUMS, checksum_lines(bundle.files, own.sha256))
        await bundle.add_unlisted(SIGNATURE, signer.sign(manifest))
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
        anchors=anchors,
        timings=timings,
    )
