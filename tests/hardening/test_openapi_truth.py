"""Finding 10: the OpenAPI document declares every problem response, Allow is right, and a
role x route matrix generated from the document finds no route that leaks another
organization's object."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import Person, make_case, make_person, photo_with_gps, upload

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
# Path parameters that name no organization's object, with the reason they are left out.
NOT_ORGANIZATION_OWNED = {
    "z": "tile coordinates",
    "x": "tile coordinates",
    "y": "tile coordinates",
    "layer_id": "reference layers are corps-wide",
    "actor_id": "the respondent registry is corps-wide",
    "candidate_id": "the respondent registry is corps-wide",
}
# Operations that read a corps-wide directory on purpose.
DIRECTORY = {("get", "/api/v1/organizations/{organization_id}")}
# Campaigners read every campaign (they exist to carry campaigns), not only their own.
CAMPAIGNER_READS = {"campaign_id"}
ORGANIZATION_SCOPED_ROLES = ("paralegal", "org_admin", "campaigner")


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


async def test_every_operation_declares_its_problem_responses(app: FastAPI) -> None:
    document = app.openapi()
    assert "Problem" in document["components"]["schemas"]
    assert "HTTPValidationError" not in str(document)
    for path, method, operation in operations(document):
        declared = operation["responses"]
        expected = {"413", "422", "500", "503"}
        if operation.get("security"):
            expected |= {"401", "403"}
        if "{" in path:
            expected.add("404")
        if method in ("post", "patch", "delete"):
            expected.add("409")
        for status in expected:
            assert declared.get(status, {}).get("content") == PROBLEM, (method, path, status)


async def test_a_405_names_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.put(f"/api/v1/cases/{uuid.uuid4()}")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE"}
    assert response.headers["content-type"] == "application/problem+json"


async def other_organizations_objects(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> dict[str, str]:
    """One object of each kind, all belonging to an organization nobody in the test is in."""
    owner = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    case = await make_case(client, owner)
    campaigned = await make_case(client, owner)  # campaigners may read this one, not `case`
    evidence = await upload(client, owner, case["id"], photo_with_gps(36.8, -1.3))
    assert isinstance(evidence, httpx.Response) and evidence.status_code == 201, evidence
    campaign = await client.post(
        "/api/v1/campaigns",
        headers=coordinator.headers,
        json={"title": "Theirs", "rationale": "Their own reasons", "case_ids": [campaigned["id"]]},
    )
    dossier = await client.post(
        "/api/v1/dossiers",
        headers=owner.headers,
        json={"case_ids": [case["id"]], "level": "internal", "formats": ["geojson"]},
    )
    assert campaign.status_code == 201, campaign.text
    assert dossier.status_code == 202, dossier.text
    return {
        "case_id": str(case["id"]),
        "feature_id": str(case["id"]),
        "evidence_id": evidence.json()["id"],
        "user_id": str(owner.id),
        "organization_id": str(owner.organization_id),
        "campaign_id": campaign.json()["id"],
        "dossier_id": dossier.json()["id"],
    }


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{([a-z_]+)\}", lambda m: values[m.group(1)], path)


async def test_no_route_shows_an_organization_scoped_role_another_organizations_object(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    objects = await other_organizations_objects(client, db, settings)
    people: list[Person] = [
        await make_person(db, settings, role) for role in ORGANIZATION_SCOPED_ROLES
    ]
    checked = 0
    for path, method, operation in operations(app.openapi()):
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        if not names or all(n in NOT_ORGANIZATION_OWNED for n in names):
            continue
        unknown = [n for n in names if n not in objects and n not in NOT_ORGANIZATION_OWNED]
        assert not unknown, f"{method.upper()} {path}: add {unknown} to the matrix"
        if (method, path) in DIRECTORY:
            continue
        random = {name: str(uuid.uuid4()) for name in names}
        for person in people:
            if person.role == "campaigner" and CAMPAIGNER_READS & set(names):
                continue
            body = {} if method in ("post", "patch") else None
            theirs = await client.request(
                method, fill(path, objects), json=body, headers=person.headers
            )
            nobodys = await client.request(
                method, fill(path, random), json=body, headers=person.headers
            )
            where = f"{person.role} {method.upper()} {path}"
            assert theirs.status_code in (403, 404, 422), (where, theirs.text)
            assert theirs.status_code == nobodys.status_code, (where, theirs.text, nobodys.text)
            assert theirs.headers["content-type"] == "application/problem+json", where
            for value in objects.values():
                assert value not in theirs.text or value in fill(path, objects), where
            checked += 1
    assert checked >= 60, checked
