"""Each vocabulary is one StrEnum: the database's checks, the seed and OpenAPI agree with it."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import CheckConstraint, text
from sqlalchemy.ext.asyncio import AsyncSession

import corps.models_registry  # noqa: F401 (registers every table)
from cases.vocabularies import SEEDED_ISSUE_TYPES, CaseStatus, EvidenceKind, Sensitivity
from corps.db import Base
from corps.vocabulary import values

QUOTED = re.compile(r"'([^']*)'")


def _vocabulary_checks() -> dict[str, list[str]]:
    """Constraint name -> the codes the models' check text allows."""
    found = {}
    for table in Base.metadata.sorted_tables:
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint) and " IN (" in str(constraint.sqltext):
                found[str(constraint.name)] = QUOTED.findall(str(constraint.sqltext))
    return found


async def test_the_database_checks_allow_exactly_the_vocabularies_codes(
    db: AsyncSession,
) -> None:
    checks = _vocabulary_checks()
    assert len(checks) >= 14  # statuses, sensitivity, precision, kinds, remedies, roles...
    rows = await db.execute(text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"))
    # 0001 named the role check before the naming convention applied: it is doubled there.
    in_database = {
        name.removeprefix("ck_users_"): sorted(QUOTED.findall(definition))
        for name, definition in rows
        if name in checks or name.removeprefix("ck_users_") in checks
    }
    assert in_database == {name: sorted(codes) for name, codes in checks.items()}


async def test_the_seeded_issue_types_and_families_are_the_vocabularys(db: AsyncSession) -> None:
    rows = await db.execute(
        text("SELECT code, label, family FROM issue_types WHERE code = ANY(:codes)"),
        {"codes": list(SEEDED_ISSUE_TYPES)},
    )
    assert {code: (label, family) for code, label, family in rows} == SEEDED_ISSUE_TYPES


async def test_openapi_lists_each_vocabularys_codes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert schemas["CaseStatus"]["enum"] == values(CaseStatus)
    assert schemas["Sensitivity"]["enum"] == values(Sensitivity)
    upload = spec["paths"]["/api/v1/cases/{case_id}/evidence"]["post"]["requestBody"]
    form = upload["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["kind"]["enum"] == values(EvidenceKind)
    listing = spec["paths"]["/api/v1/cases"]["get"]["parameters"]
    status = next(p for p in listing if p["name"] == "status")
    assert set(values(CaseStatus)) == set(status["schema"]["anyOf"][0]["pattern"][2:-2].split("|"))
