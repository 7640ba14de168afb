"""User, sign-in and /me routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from corps.auth.actor import CurrentActor
from corps.auth.policy import UserManager
from corps.db import SessionDep
from corps.members import service
from corps.members.models import User
from corps.members.schemas import Me, TokenResponse, UserCreate, UserRead, UserUpdate
from corps.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1", tags=["people"])


@router.post("/auth/token")
async def sign_in(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
) -> TokenResponse:
    """OAuth2 password flow: username is the email."""
    return await service.authenticate(
        session,
        request.app.state.arq,
        request.app.state.settings,
        email=form.username,
        password=form.password,
        client=request.client.host if request.client else "unknown",
    )


@router.get("/me")
async def me(actor: CurrentActor, session: SessionDep) -> Me:
    """The signed-in user."""
    return Me.model_validate(await session.get_one(User, actor.user_id))


@router.post("/users", status_code=201)
async def create_user(body: UserCreate, session: SessionDep, actor: UserManager) -> UserRead:
    """Create a user (admin: any; org_admin: own organization, paralegal or org_admin)."""
    return UserRead.model_validate(await service.create(session, actor, body))


@router.get("/users")
async def list_users(session: SessionDep, actor: UserManager, page: PageDep) -> Page[UserRead]:
    """List the users the actor manages."""
    users = await service.list_page(session, actor, page)
    return Page(
        items=[UserRead.model_validate(u) for u in users.items], next_cursor=users.next_cursor
    )


@router.get("/users/{user_id}")
async def get_user(user_id: uuid.UUID, session: SessionDep, actor: UserManager) -> UserRead:
    """Read one user the actor manages."""
    return UserRead.model_validate(await service.get_visible(session, actor, user_id))


@router.patch("/users/{user_id}")
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, session: SessionDep, actor: UserManager
) -> UserRead:
    """Change a user the actor manages."""
    return UserRead.model_validate(await service.update(session, actor, user_id, body))
