"""Demo cases: points, lines and polygons clustered around plausible sites, shared respondents."""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import Case, CaseEvent, CaseRespondent
from cases.respondents import normalize_name, resolve_actors
from cases.vocabularies import CaseStatus, Sensitivity
from corps.demo_data import COUNTRIES, DemoCountry
from corps.organizations.models import Organization

BATCH = 1000
SITES_PER_COUNTRY = 4
# Fictional respondents. Each group works in a few countries, named in several spellings;
# some cases name a subsidiary, and some local names differ by more than a legal form.
MULTINATIONALS = {
    "mining": (
        ["SL", "LR", "GH", "CD", "ZA"],
        [
            "Sino-Atlantic Mining Group",
            "SINO ATLANTIC MINING GROUP LTD",
            "Sino Atlantic Mining Group S.A.",
            "Sino-Atlantic Minerals (Sierra Leone) Ltd",
        ],
    ),
    "land": (
        ["ID", "PH", "KH", "MM", "LR"],
        [
            "Greenleaf Palm Holdings",
            "Greenleaf Palm Holdings Pte. Ltd.",
            "PT Greenleaf Palm Holdings",
            "Greenleaf Palm Plantations",
        ],
    ),
    "oil": (
        ["NG", "UG", "MZ", "EC", "US"],
        [
            "Meridian Oil & Gas",
            "Meridian Oil and Gas Plc",
            "MERIDIAN OIL & GAS LIMITED",
            "Meridian Petroleum",
        ],
    ),
    "air": (
        ["KE", "TZ", "IN", "NP", "BD"],
        ["Tellus Cement", "Tellus Cement Company", "Tellus Cement Co.", "Tellus Cements"],
    ),
    "water": (
        ["BR", "CO", "PE", "MX", "GT", "HN"],
        ["Andes Hydro Consortium", "Andes Hydro Consortium S.A.", "Consorcio Andes Hydro"],
    ),
}
SUBSIDIARIES = {"Sino-Atlantic Minerals (Sierra Leone) Ltd": "Sino-Atlantic Mining Group"}
LOCAL_COMPANIES = ["{region} Aggregates Ltd", "{region} Sand Traders", "{region} Timber Co."]
LOCAL_AGENCIES = [
    "Ministry of Mines",
    "National Environment Agency",
    "District Land Office",
    "Water Resources Authority",
]
TEMPLATES = {
    "mining": ("Tailings spill near {place}", ["mining", "water_pollution"]),
    "land": ("Community land fenced off at {place}", ["land_grab", "agribusiness"]),
    "forest": ("Illegal logging in the {place} forest", ["deforestation"]),
    "oil": ("Oil leaks into farmland at {place}", ["oil_gas", "soil_contamination"]),
    "air": ("Quarry dust over homes in {place}", ["air_pollution", "mining"]),
    "water": ("Wells run dry after dam works at {place}", ["water_access", "infrastructure"]),
    "fish": ("Trawlers in the artisanal zone off {place}", ["fisheries"]),
    "waste": ("Waste dumped beside the school at {place}", ["waste_dumping"]),
}
PLACES = [
    "Kibera",
    "Lower Valley",
    "Riverside",
    "Hill Camp",
    "Old Market",
    "Bridge End",
    "North Ward",
    "Lakeshore",
    "Crossroads",
    "Mission Village",
    "Red Earth",
    "Palm Bay",
]
# Weights: most demo cases are open, as in a young corps.
STATUSES = [CaseStatus.intake] * 4 + [CaseStatus.investigation] * 3 + [CaseStatus.action] * 3
STATUSES += [CaseStatus.resolved, CaseStatus.closed, CaseStatus.dormant]
SENSITIVITY = [Sensitivity.normal] * 7 + [Sensitivity.sensitive] * 2 + [Sensitivity.high_risk]


def _sites(country: DemoCountry) -> list[tuple[float, float]]:
    rng = random.Random(country.code)
    return [
        (
            country.lon + rng.uniform(-country.spread, country.spread),
            country.lat + rng.uniform(-country.spread, country.spread),
        )
        for _ in range(SITES_PER_COUNTRY)
    ]


def _geometry(rng: random.Random, lon: float, lat: float) -> tuple[str, str]:
    """EWKT of a point, line, polygon or multipoint near (lon, lat), and its precision."""
    roll = rng.random()
    if roll < 0.5:
        return f"SRID=4326;POINT({lon:.6f} {lat:.6f})", "exact"
    if roll < 0.7:
        r = rng.uniform(0.004, 0.02)
        corners = [
            (
                lon + r * math.cos(a) * rng.uniform(0.7, 1.0),
                lat + r * math.sin(a) * rng.uniform(0.7, 1.0),
            )
            for a in (0.3, 1.8, 3.3, 4.9)
        ]
        ring = ", ".join(f"{x:.6f} {y:.6f}" for x, y in [*corners, corners[0]])
        return f"SRID=4326;POLYGON(({ring}))", "area"
    if roll < 0.85:
        points, x, y = [], lon, lat
        for _ in range(rng.randint(3, 8)):
            points.append(f"{x:.6f} {y:.6f}")
            x, y = x + rng.uniform(0.002, 0.01), y + rng.uniform(-0.006, 0.006)
        return f"SRID=4326;LINESTRING({', '.join(points)})", "approximate"
    points = [
        f"({lon + rng.uniform(-0.01, 0.01):.6f} {lat + rng.uniform(-0.01, 0.01):.6f})"
        for _ in range(rng.randint(2, 5))
    ]
    return f"SRID=4326;MULTIPOINT({', '.join(points)})", "approximate"


def _demo_case(index: int, org: Organization, country: DemoCountry) -> dict[str, Any]:
    rng = random.Random(index)
    site_lon, site_lat = rng.choice(_sites(country))
    ewkt, precision = _geometry(rng, site_lon + rng.gauss(0, 0.04), site_lat + rng.gauss(0, 0.04))
    template, issue_types = TEMPLATES[rng.choice(list(TEMPLATES))]
    place = rng.choice(PLACES)
    group = next((g for g in MULTINATIONALS.values() if country.code in g[0]), None)
    if group and rng.random() < 0.6:
        respondents = [(rng.choice(group[1]), "company")]
    else:
        respondents = [(rng.choice(LOCAL_COMPANIES).format(region=country.region), "company")]
    if rng.random() < 0.3:
        respondents.append((rng.choice(LOCAL_AGENCIES), "government_agency"))
    opened = date(2024, 1, 1) + timedelta(days=rng.randint(0, 1000))
    return {
        "organization_id": org.id,
        "title": template.format(place=place),
        "summary": f"Reported by residents of {place}, {country.region}. Demo case {index}.",
        "issue_types": issue_types,
        "status": rng.choice(STATUSES),
        "sensitivity": rng.choice(SENSITIVITY),
        "geometry": ewkt,
        "location_precision": precision,
        "place_name": f"{place}, {country.region}",
        "country": country.code,
        "people_affected": rng.randint(20, 20000),
        "opened_on": opened,
        "respondents": respondents,
    }


async def _reserve_references(session: AsyncSession, org: Organization, count: int) -> list[str]:
    year = datetime.now(UTC).year
    last = await session.scalar(
        text(
            "INSERT INTO case_reference_counters (organization_id, year, last_number) "
            "VALUES (:org, :year, :n) ON CONFLICT (organization_id, year) DO UPDATE "
            "SET last_number = case_reference_counters.last_number + :n RETURNING last_number"
        ),
        {"org": org.id, "year": year, "n": count},
    )
    assert last is not None
    return [f"{org.slug.upper()}-{year}-{n:04d}" for n in range(last - count + 1, last + 1)]


async def seed_cases(session: AsyncSession, orgs: dict[str, Organization], *, total: int) -> int:
    """Add demo cases until the demo organizations hold `total`; return how many they hold."""
    by_country = {c.code: c for c in COUNTRIES}
    demo_orgs = [org for org in orgs.values() if org.slug != "corps"]
    existing = (
        await session.scalar(
            select(func.count())
            .select_from(Case)
            .where(Case.organization_id.in_([o.id for o in demo_orgs]))
        )
        or 0
    )
    for start in range(existing, total, BATCH):
        rows = [
            _demo_case(
                i, demo_orgs[i % len(demo_orgs)], by_country[demo_orgs[i % len(demo_orgs)].country]
            )
            for i in range(start, min(start + BATCH, total))
        ]
        await _insert_batch(session, rows, {o.id: o for o in demo_orgs})
    await _group_subsidiaries(session)
    return max(existing, total)


async def _group_subsidiaries(session: AsyncSession) -> None:
    """Record the demo subsidiaries under their groups, as a coordinator would."""
    for child, parent in SUBSIDIARIES.items():
        await session.execute(
            text(
                "UPDATE actors SET parent_id = (SELECT id FROM actors WHERE normalized_name = :p) "
                "WHERE normalized_name = :c AND parent_id IS NULL"
            ),
            {"p": normalize_name(parent), "c": normalize_name(child)},
        )


async def _insert_batch(
    session: AsyncSession, rows: list[dict[str, Any]], orgs: dict[Any, Organization]
) -> None:
    actors: dict[tuple[str, str, str], Any] = {}
    for country in sorted({row["country"] for row in rows}):
        names = sorted({r for row in rows if row["country"] == country for r in row["respondents"]})
        resolved = await resolve_actors(session, names, country=country)
        actors |= {(country, *pair): actor for pair, actor in zip(names, resolved, strict=True)}
    wanted = Counter(row["organization_id"] for row in rows)
    references = {
        org_id: iter(await _reserve_references(session, orgs[org_id], n))
        for org_id, n in wanted.items()
    }
    values = []
    for row in rows:
        respondents = row["respondents"]
        values.append(
            {
                **{k: v for k, v in row.items() if k not in ("respondents", "geometry")},
                "geometry": func.ST_GeomFromEWKT(row["geometry"]),
                "reference": next(references[row["organization_id"]]),
                "respondent_names": " ".join(name for name, _ in respondents),
            }
        )
    ids = list(await session.scalars(insert(Case).values(values).returning(Case.id)))
    links, events = [], []
    for case_id, row in zip(ids, rows, strict=True):
        for position, pair in enumerate(dict.fromkeys(row["respondents"])):
            links.append(
                {
                    "case_id": case_id,
                    "actor_id": actors[(row["country"], *pair)].id,
                    "name_as_given": pair[0],
                    "position": position,
                }
            )
        events.append(
            {
                "case_id": case_id,
                "kind": "status_change",
                "occurred_on": row["opened_on"],
                "description": f"Case opened as {row['status']}.",
                "details": {"from": None, "to": row["status"]},
            }
        )
    await session.execute(insert(CaseRespondent).values(links).on_conflict_do_nothing())
    await session.execute(insert(CaseEvent).values(events))
