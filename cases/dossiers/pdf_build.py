"""The PDF step of a build: draw the maps, make the thumbnails, write the HTML, render it."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.dossiers.basemap import countries_in, world_outline
from cases.dossiers.content import DossierContent
from cases.dossiers.evidence_files import Outcome
from cases.dossiers.map_svg import (
    MapLayers,
    locator_box,
    locator_map_svg,
    overview_box,
    overview_map_svg,
    region_box,
)
from cases.dossiers.pdf import render_pdf
from cases.dossiers.pdf_evidence import thumbnails
from cases.dossiers.pdf_html import Cover, Drawn, dossier_html
from corps.organizations.models import Organization
from corps.storage import Storage


async def _maps(session: AsyncSession, content: DossierContent, drawn: Drawn) -> None:
    world = await world_outline(session)
    box = overview_box([c.geometry for c in content.cases])
    if box is not None:
        outlines, names = await countries_in(session, box)
        layers = MapLayers(box, outlines, world, names=names)
        numbered = [(c.number, c.geometry) for c in content.cases]
        drawn.overview_svg = overview_map_svg(numbered, layers).svg
    for case in content.cases:
        case_box = locator_box(case.geometry)
        if case_box is not None:
            region = region_box(case_box)
            outlines, names = await countries_in(session, case_box)
            regional, _ = await countries_in(session, region)
            layers = MapLayers(case_box, outlines, regional, region, names)
            drawn.locators[case.id] = locator_map_svg(case.geometry, layers, f"case-{case.number}")


async def _organizations(session: AsyncSession, content: DossierContent) -> dict[str, str]:
    ids = {uuid.UUID(c.organization_id) for c in content.cases if c.organization_id}
    rows = await session.execute(
        select(Organization.id, Organization.name).where(Organization.id.in_(ids))
    )
    return {str(row.id): row.name for row in rows}


async def render_dossier_pdf(
    *,
    factory: async_sessionmaker[AsyncSession],
    storage: Storage,
    cover: Cover,
    content: DossierContent,
    outcomes: dict[uuid.UUID, Outcome],
    chains: dict[uuid.UUID, list[dict[str, Any]]],
    signer: dict[str, Any],
    anchors: dict[str, Any],
    attachments: list[dict[str, str]],
    workdir: Path,
) -> Path:
    """Write dossier.pdf (PDF/A-3b, attachments embedded) into workdir and return its path."""
    drawn = Drawn(chains=chains, signer=signer, anchors=anchors)
    async with factory() as session:
        await _maps(session, content, drawn)
        drawn.organizations = await _organizations(session, content)
    drawn.thumbnails = await thumbnails(storage, content, outcomes)
    html_path, pdf_path = workdir / "dossier.html", workdir / "dossier.pdf"
    html = dossier_html(cover, content, outcomes, drawn)
    await asyncio.to_thread(html_path.write_text, html, "utf-8")
    await render_pdf(html_path, pdf_path, attachments)
    return pdf_path
