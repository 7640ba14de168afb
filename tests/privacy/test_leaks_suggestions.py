"""Suggestions tell a paralegal nothing of another organization's high-risk cases or people."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_case, make_person, unique
from tests.cases.advocacy.test_suggestions import suggestions


async def test_a_high_risk_case_or_a_shared_person_makes_no_suggestion(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    prober = await make_person(db, settings, "paralegal")
    other = await make_person(db, settings, "paralegal")
    company, person = unique("Probe Mining "), unique("Jane Probe ")
    await make_case(
        client, other, sensitivity="high_risk", respondents=[{"name": company, "kind": "company"}]
    )
    await make_case(client, other, respondents=[{"name": person, "kind": "other"}])
    await make_case(
        client,
        prober,
        respondents=[{"name": company, "kind": "company"}, {"name": person, "kind": "other"}],
    )
    named = str(await suggestions(client, prober.headers))
    assert company not in named and person not in named
