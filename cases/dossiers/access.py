"""Who may read a dossier: the one rule, as a WHERE clause, for reads, downloads and the list.

A dossier is readable by its requester's organization: the requester, corps-wide colleagues,
and other colleagues when every case in it is theirs to read (a coordinator's internal dossier
must not reach a paralegal through a shared organization; a campaigner never reads an internal
one). Corps-wide users of other organizations read it only at a level they may see: an admin
sees every place exactly, a coordinator sees other organizations' high-risk cases generalized,
so an internal dossier holding such a case is not theirs. Everyone else: 404.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, any_, cast, false, func, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.sql.elements import ColumnElement

from cases.dossiers.models import Dossier
from cases.models import Case
from cases.visibility import case_visibility
from corps.auth.actor import Actor, Role
from corps.auth.policy import reads_corps_wide
from geo.privacy import Level


def _case_ids() -> ColumnElement[Any]:
    return cast(Dossier.case_ids, ARRAY(UUID(as_uuid=True)))


def _every_case_seen(actor: Actor) -> ColumnElement[bool]:
    seen = (
        select(func.count())
        .select_from(Case)
        .where(Case.id == any_(_case_ids()), case_visibility(actor))
        .scalar_subquery()
    )
    return seen == func.cardinality(Dossier.case_ids)


def _colleague(actor: Actor) -> ColumnElement[bool]:
    if reads_corps_wide(actor):
        return true()
    contents = _every_case_seen(actor)
    if actor.role == Role.campaigner:
        contents = and_(Dossier.level != Level.internal.value, contents)
    return or_(Dossier.requested_by == actor.user_id, contents)


def _from_outside(actor: Actor) -> ColumnElement[bool]:
    if actor.role == Role.admin:
        return true()
    if actor.role != Role.coordinator:
        return false()
    generalized_for_them = (
        select(Case.id)
        .where(
            Case.id == any_(_case_ids()),
            Case.sensitivity == "high_risk",
            Case.organization_id != actor.organization_id,
        )
        .exists()
    )
    return or_(Dossier.level != Level.internal.value, ~generalized_for_them)


def dossier_readable(actor: Actor) -> ColumnElement[bool]:
    """The WHERE clause limiting dossiers to those the actor may read."""
    own = Dossier.organization_id == actor.organization_id
    return or_(and_(own, _colleague(actor)), and_(~own, _from_outside(actor)))
