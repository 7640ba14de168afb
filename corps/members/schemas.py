"""User request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, StringConstraints

from corps.auth.actor import Role

Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class UserCreate(BaseModel):
    """A new user; the organization defaults to the creator's."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: Name
    password: Password
    role: Role
    organization_id: uuid.UUID | None = None


class UserUpdate(BaseModel):
    """Changes to a user."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    role: Role | None = None
    active: bool | None = None
    password: Password | None = None


class UserRead(BaseModel):
    """A user as managers see them."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    role: Role
    organization_id: uuid.UUID
    active: bool
    created_at: datetime


class Me(BaseModel):
    """The signed-in user."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    role: Role
    organization_id: uuid.UUID


class TokenResponse(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int


class PasswordChange(BaseModel):
    """A user's change of their own password."""

    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, StringConstraints(max_length=256)]
    new_password: Password
