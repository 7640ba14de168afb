"""A timeline read by a viewer who sees the case generalized keeps no free text of the case."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_case, make_person


async def test_a_generalized_viewer_reads_the_public_note_not_the_description(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    case = await make_case(client, paralegal, sensitivity="high_risk")
    added = await client.post(
        f"/api/v1/cases/{case['id']}/events",
        headers=paralegal.headers,
        json={
            "kind": "action",
            "occurred_on": "2026-03-15",
            "description": "Met Jane Doe at the Palm Bay fence",
            "public_note": "A meeting with the community",
        },
    )
    assert added.status_code == 201, added.text
    url = f"/api/v1/cases/{case['id']}/events"
    theirs = await client.get(url, headers=coordinator.headers)
    assert theirs.status_code == 200, theirs.text
    assert "Palm Bay" not in theirs.text and "Jane Doe" not in theirs.text
    shown = theirs.json()["items"]
    assert [e["description"] for e in shown if e["kind"] == "action"] == [
        "A meeting with the community"
    ]
    mine = (await client.get(url, headers=paralegal.headers)).json()["items"]
    assert [e["description"] for e in mine if e["kind"] == "action"] == [
        "Met Jane Doe at the Palm Bay fence"  # the record is intact
    ]


async def test_a_negated_word_cannot_probe_a_generalized_case_hidden_text(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    case = await make_case(
        client,
        paralegal,
        sensitivity="high_risk",
        title="Fence at Quillabamba",
        place_name="Quillabamba",
    )
    org = {"organization_id": str(paralegal.organization_id)}
    for q in ("-Quillabamba", "-fence", "Quillabamba"):
        found = await client.get(
            "/api/v1/cases", params={**org, "q": q}, headers=coordinator.headers
        )
        assert found.status_code == 200, found.text
        ids = [c["id"] for c in found.json()["items"]]
        # the hidden title and place never decide: only what the coordinator is shown does
        assert (case["id"] in ids) == q.startswith("-"), q


async def test_a_generalized_viewer_reads_no_other_persons_flag_reason(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    flagger = await make_person(db, settings, "coordinator")
    reader = await make_person(db, settings, "coordinator")
    case = await make_case(client, paralegal, sensitivity="high_risk")
    url = f"/api/v1/cases/{case['id']}/flags"
    flagged = await client.post(
        url, json={"reason": "Same fence as at the Palm Bay quarry"}, headers=flagger.headers
    )
    assert flagged.status_code == 201, flagged.text
    theirs = await client.get(url, headers=reader.headers)
    assert theirs.status_code == 200 and "Palm Bay" not in theirs.text
    assert [f["reason"] for f in theirs.json()] == [""]
    for who in (flagger, paralegal):  # the flagger, and the case's own organization
        own = (await client.get(url, headers=who.headers)).json()
        assert [f["reason"] for f in own] == ["Same fence as at the Palm Bay quarry"]
