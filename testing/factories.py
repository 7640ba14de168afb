"""Small factories that build real rows, and signed-in people to make requests as."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncSession

from corps.auth.passwords import hash_password
from corps.auth.tokens import issue_token
from corps.members.models import User
from corps.organizations.models import Organization
from corps.settings import Settings
from corps.viewer import Viewer

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


@lru_cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


def unique(prefix: str) -> str:
    """A short name unique within the test run."""
    return f"{prefix}{next(_counter)}{uuid.uuid4().hex[:6]}"


@dataclass
class Person:
    """A user of a role with a valid bearer token."""

    id: uuid.UUID
    email: str
    role: str
    organization_id: uuid.UUID
    headers: dict[str, str]


def viewer_of(person: Person) -> Viewer:
    """The viewer a job queued by this person runs as (corps.jobs adds it when queueing)."""
    return Viewer(role=person.role, user_id=person.id, organization_id=person.organization_id)


async def make_org(
    db: AsyncSession, *, country: str = "KE", slug: str | None = None
) -> Organization:
    """Create and commit an organization."""
    org = Organization(
        name=f"Org {unique('')}", slug=slug or unique("org-"), country=country, region="Test"
    )
    db.add(org)
    await db.commit()
    return org


async def make_person(
    db: AsyncSession,
    settings: Settings,
    role: str,
    org: Organization | None = None,
    *,
    active: bool = True,
) -> Person:
    """Create a user of `role` (in a new organization unless given) with a token."""
    org = org or await make_org(db)
    email = f"{unique(role)}@example.org"
    user = User(
        email=email,
        name=role.title(),
        password_hash=_password_hash(),
        role=role,
        organization_id=org.id,
        active=active,
    )
    db.add(user)
    await db.commit()
    token, _ = issue_token(settings, user.id)
    return Person(user.id, email, role, org.id, {"Authorization": f"Bearer {token}"})


QUARRY = {
    "type": "Polygon",
    "coordinates": [
        [[36.78, -1.29], [36.79, -1.29], [36.79, -1.28], [36.78, -1.28], [36.78, -1.29]]
    ],
}


def case_body(**overrides: object) -> dict[str, object]:
    """A realistic case body; override any field."""
    body: dict[str, object] = {
        "title": "Quarry dust over Kilimani school",
        "summary": "Blasting and dust from the quarry reach the primary school daily.",
        "issue_types": ["air_pollution", "mining"],
        "sensitivity": "normal",
        "geometry": QUARRY,
        "location_precision": "exact",
        "place_name": "Kilimani, Nairobi",
        "country": "KE",
        "people_affected": 1200,
        "respondents": [{"name": "Acme Quarries Ltd", "kind": "company"}],
        "opened_on": "2026-03-01",
    }
    body.update(overrides)
    return body


async def make_case(client: object, person: Person, **overrides: object) -> dict[str, object]:
    """Create a case through the API as `person` and return its JSON."""
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    response = await client.post(
        "/api/v1/cases", json=case_body(**overrides), headers=person.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def photo_with_gps(lon: float, lat: float, *, taken: str = "2026:03:03 10:00:00") -> bytes:
    """A real JPEG whose EXIF carries a GPS position, capture time and device."""
    import io

    from PIL import ExifTags, Image

    def dms(value: float) -> tuple[float, float, float]:
        value = abs(value)
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        return float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4)

    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.Model] = "Field X1"
    exif[ExifTags.Base.DateTime] = taken
    exif[0x8825] = {
        1: "S" if lat < 0 else "N",
        2: dms(lat),
        3: "W" if lon < 0 else "E",
        4: dms(lon),
    }
    out = io.BytesIO()
    Image.new("RGB", (96, 64), (40, 120, 60)).save(out, "JPEG", exif=exif)
    return out.getvalue()


async def upload(
    client: object,
    person: Person,
    case_id: object,
    data: bytes,
    *,
    filename: str = "photo.jpg",
    kind: str = "photo",
    **fields: str,
) -> object:
    """POST a file to a case's evidence as multipart; return the response."""
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    return await client.post(
        f"/api/v1/cases/{case_id}/evidence",
        headers=person.headers,
        files={"file": (filename, data, "application/octet-stream")},
        data={"kind": kind, **fields},
    )
