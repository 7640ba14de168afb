"""Suggestions: cases of different organizations that belong together, found in SQL."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import ARRAY, Text, Uuid, any_, cast, column, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cases.advocacy.models import Suggestion
from cases.advocacy.schemas import SuggestionRead
from cases.view import case_view
from corps.auth.actor import Actor
from corps.db import system_viewer
from geo.sql_dbscan import metric_dbscan

PROXIMITY_KM = 20.0
SHARED_RESPONDENTS = text("""
SELECT coalesce(a.parent_id, a.id) AS group_id, g.name AS group_name,
       array_agg(DISTINCT c.id::text) AS case_ids,
       array_agg(DISTINCT c.organization_id::text) AS organization_ids,
       array_agg(DISTINCT c.country) AS countries,
       array_agg(DISTINCT cr.name_as_given) AS spellings,
       array_agg(DISTINCT a.name) FILTER (WHERE a.parent_id IS NOT NULL) AS subsidiaries
FROM case_respondents cr
JOIN actors a ON a.id = cr.actor_id
JOIN actors g ON g.id = coalesce(a.parent_id, a.id)
JOIN ej_cases('partner') c ON c.id = cr.case_id
WHERE c.sensitivity <> 'high_risk' AND a.kind <> 'other'
GROUP BY 1, 2
HAVING count(DISTINCT c.organization_id) >= 2
""")

# Layers are matched against what a partner is shown (sensitive and high-risk cases as their
# cell): suggestions are stored once for every viewer, and a crafted layer of small features
# must not tell which part of its cell a hidden case lies in.
SHARED_FEATURES = text("""
SELECT f.id AS feature_id, f.name AS feature_name, l.name AS layer_name, l.kind AS layer_kind,
       array_agg(DISTINCT c.id::text) AS case_ids,
       array_agg(DISTINCT c.organization_id::text) AS organization_ids
FROM layer_feature_parts p
JOIN ej_cases('partner') c ON ST_Intersects(p.geometry, c.geometry)
    AND c.sensitivity <> 'high_risk'
JOIN layer_features f ON f.id = p.feature_id
JOIN reference_layers l ON l.id = p.layer_id
GROUP BY f.id, f.name, l.name, l.kind
HAVING count(DISTINCT c.organization_id) >= 2
""")


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"1 {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("ry") else f"{n} {word}s"


async def _shared_respondents(session: AsyncSession) -> list[dict[str, Any]]:
    out = []
    for row in (await session.execute(SHARED_RESPONDENTS)).all():
        cases, orgs, countries = len(row.case_ids), len(row.organization_ids), len(row.countries)
        spellings = sorted(row.spellings)
        how = f" (as {', '.join(repr(s) for s in spellings[:4])})" if len(spellings) > 1 else ""
        subs = f", through {', '.join(sorted(row.subsidiaries))}" if row.subsidiaries else ""
        out.append(
            {
                "reason": "shared_respondent",
                "case_ids": row.case_ids,
                "organization_ids": row.organization_ids,
                "respondent": {
                    "actor_id": str(row.group_id),
                    "name": row.group_name,
                    "spellings": spellings,
                },
                "score": orgs * 3 + countries * 2 + cases * 0.5,
                "explanation": f"{_plural(cases, 'case')} in {_plural(orgs, 'organization')} and "
                f"{_plural(countries, 'country')} name {row.group_name}{how}{subs}.",
            }
        )
    return out


def _family_points() -> Any:
    """CTE: one row per case and issue family, at the case's centroid.

    Families come from the issue-type vocabulary, so a type a coordinator adds takes part.
    """
    return (
        text("""
            SELECT DISTINCT c.id, c.organization_id, c.country, c.centroid AS pt, it.family
            FROM ej_cases('partner') c
            CROSS JOIN LATERAL unnest(c.issue_types) AS t(code)
            JOIN issue_types it ON it.code = t.code
            WHERE c.sensitivity <> 'high_risk'
        """)
        .columns(
            column("id", Uuid),
            column("organization_id", Uuid),
            column("country", Text),
            column("pt", Geometry),
            column("family", Text),
        )
        .cte("pts")
    )


async def _proximity(session: AsyncSession, distance_km: float) -> list[dict[str, Any]]:
    pts = _family_points()
    max_lat = await session.scalar(select(func.max(func.abs(func.ST_Y(pts.c.pt)))))
    if max_lat is None:
        return []
    clusters = metric_dbscan(
        pts, eps_m=distance_km * 1000, min_points=2, max_lat=float(max_lat), partition=pts.c.family
    )
    rows = (
        await session.execute(
            select(
                clusters.c.family,
                func.array_agg(func.distinct(cast(clusters.c.id, Text))).label("case_ids"),
                func.array_agg(func.distinct(cast(clusters.c.organization_id, Text))).label(
                    "organization_ids"
                ),
                func.array_agg(func.distinct(clusters.c.country)).label("countries"),
            )
            .where(clusters.c.sub.is_not(None))
            .group_by(clusters.c.candidate, clusters.c.sub, clusters.c.family)
            .having(func.count(func.distinct(clusters.c.organization_id)) >= 2)
        )
    ).all()
    out = []
    for row in rows:
        cases, orgs = len(row.case_ids), len(row.organization_ids)
        border = f" across {' and '.join(sorted(row.countries))}" if len(row.countries) > 1 else ""
        out.append(
            {
                "reason": "proximity",
                "case_ids": row.case_ids,
                "organization_ids": row.organization_ids,
                "respondent": None,
                "score": orgs * 2 + cases * 0.5 + (2 if border else 0),
                "explanation": f"{_plural(cases, row.family.replace('_', ' ') + ' case')} of "
                f"{_plural(orgs, 'organization')} lie within {distance_km:g} km of "
                f"each other{border}.",
            }
        )
    return out


async def _shared_features(session: AsyncSession) -> list[dict[str, Any]]:
    out = []
    for row in (await session.execute(SHARED_FEATURES)).all():
        cases, orgs = len(row.case_ids), len(row.organization_ids)
        what = row.feature_name or f"feature {row.feature_id}"
        out.append(
            {
                "reason": "shared_layer_feature",
                "case_ids": row.case_ids,
                "organization_ids": row.organization_ids,
                "respondent": {"layer": row.layer_name, "feature": what, "kind": row.layer_kind},
                "score": orgs * 2 + cases * 0.5,
                "explanation": f"{_plural(cases, 'case')} of {_plural(orgs, 'organization')} "
                f"fall in the same {row.layer_kind.replace('_', ' ')}: {what} "
                f"({row.layer_name}).",
            }
        )
    return out


RECOMPUTING = text("SELECT pg_advisory_xact_lock(hashtextextended('suggestions.compute', 0))")


async def compute(session: AsyncSession, *, distance_km: float = PROXIMITY_KM) -> int:
    """Recompute every suggestion and replace the stored ones in this transaction.

    Recomputes take turns (a transaction lock): two at once would each delete only the rows
    they saw and both insert, storing every suggestion twice.
    """
    await session.execute(RECOMPUTING)
    async with system_viewer(session):
        found = [
            *await _shared_respondents(session),
            *await _proximity(session, distance_km),
            *await _shared_features(session),
        ]
    await session.execute(delete(Suggestion))
    if found:
        await session.execute(insert(Suggestion).values(found))
    return len(found)


async def for_viewer(
    session: AsyncSession, actor: Actor, *, limit: int = 200
) -> list[SuggestionRead]:
    """Stored suggestions as the viewer may see them: only their readable cases are named.

    High-risk cases and individuals never take part (suggestions.compute), so the other
    organizations and counts a suggestion names tell nothing of them.
    """
    view = case_view()
    readable = (
        select(func.array_agg(cast(view.c.id, Text)))
        .where(view.c.id == any_(cast(Suggestion.case_ids, ARRAY(Uuid))))
        .correlate(Suggestion)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Suggestion, readable.label("visible"))
        .where(readable.is_not(None))
        .order_by(Suggestion.score.desc())
        .limit(limit)
    )
    return [
        SuggestionRead(
            reason=row.reason,
            case_ids=visible,
            organization_ids=row.organization_ids,  # who else faces it: the point of them
            respondent=row.respondent,
            score=row.score,
            explanation=row.explanation,
        )
        for row, visible in rows
    ]
