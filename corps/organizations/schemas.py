"""Organization request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


def _iso_country(code: str) -> str:
    code = code.strip().upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


CountryCode = Annotated[
    str, StringConstraints(min_length=2, max_length=2), AfterValidator(_iso_country)
]
Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$", to_lower=True)
]


class OrganizationCreate(BaseModel):
    """A new organization."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    slug: Slug
    country: CountryCode
    region: str | None = Field(default=None, max_length=120)


class OrganizationUpdate(BaseModel):
    """Changes to an organization; the slug is fixed because case references use it."""

    model_config = ConfigDict(extra="forbid")

    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
        | None
    ) = None
    country: CountryCode | None = None
    region: str | None = Field(default=None, max_length=120)


class OrganizationRead(BaseModel):
    """An organization as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    slug: str
    country: str
    region: str | None
    created_at: datetime
