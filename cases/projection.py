"""The SQL that turns case rows into what a viewer may see, privacy applied in PostGIS."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Select, case, cast, func, literal_column, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from cases.models import Case, CaseRespondent, ResponsibleActor
from cases.visibility import case_visibility
from corps.auth.actor import Actor
from geo.privacy import Level, cell_size, generalized_centroid, generalized_geometry

GEOJSON_DECIMALS = 15  # what was stored comes back; nothing is rounded on the way out


def _geojson(geometry: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(func.ST_AsGeoJSON(geometry, GEOJSON_DECIMALS), JSON)


def respondents_json() -> ColumnElement[Any]:
    """A correlated JSON array of the case's respondents with their actors."""
    item = func.json_build_object(
        "name",
        CaseRespondent.name_as_given,
        "kind",
        ResponsibleActor.kind,
        "actor_id",
        ResponsibleActor.id,
        "actor_name",
        ResponsibleActor.name,
    )
    agg = (
        select(func.coalesce(func.json_agg(literal_column("x.item")), func.json_build_array()))
        .select_from(
            select(item.label("item"))
            .join(ResponsibleActor, ResponsibleActor.id == CaseRespondent.actor_id)
            .where(CaseRespondent.case_id == Case.id)
            .order_by(CaseRespondent.position)
            .correlate(Case)
            .subquery("x")
        )
        .scalar_subquery()
    )
    return type_coerce(agg, JSON)


def case_rows(actor: Actor, level: Level = Level.internal) -> Select[*tuple[Any, ...]]:
    """SELECT of CaseRead-shaped rows the actor may read, locations generalized as needed."""
    size = cell_size(
        actor, sensitivity=Case.sensitivity, organization_id=Case.organization_id, level=level
    )
    generalized = size.is_not(None)
    return select(
        Case.id,
        Case.reference,
        Case.organization_id,
        Case.title,
        Case.summary,
        Case.issue_types,
        Case.status,
        Case.sensitivity,
        _geojson(generalized_geometry(Case.geometry, Case.centroid, size)).label("geometry"),
        generalized.label("generalized"),
        Case.geometry_repaired,
        case((generalized, None), else_=Case.area_m2).label("area_m2"),
        _geojson(generalized_centroid(Case.centroid, size)).label("centroid"),
        Case.location_precision,
        case((generalized, None), else_=Case.place_name).label("place_name"),
        Case.country,
        Case.people_affected,
        respondents_json().label("respondents"),
        Case.opened_on,
        Case.version,
        Case.created_at,
        Case.updated_at,
    ).where(case_visibility(actor))
