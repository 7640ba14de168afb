"""The web app's sign-in: a session cookie holding the same token as `/auth/token`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from corps.auth.actor import CurrentActor
from corps.auth.session import (
    SESSION_COOKIE,
    clear_session_cookie,
    require_web_header,
    set_session_cookie,
)
from corps.auth.tokens import issue_token, read_token
from corps.db import SessionDep
from corps.members import service
from corps.members.models import User
from corps.members.schemas import Me, PasswordChange

router = APIRouter(prefix="/api/v1", tags=["people"])


@router.post("/auth/session")
async def start_session(
    request: Request,
    response: Response,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
) -> Me:
    """Sign in with the same form as /auth/token; the token goes in the session cookie."""
    require_web_header(request)  # no login CSRF: a foreign page cannot sign a browser in
    settings = request.app.state.settings
    issued = await service.authenticate(
        session,
        request.app.state.arq,
        settings,
        email=form.username,
        password=form.password,
        client=request.client.host if request.client else "unknown",
    )
    set_session_cookie(response, settings, issued.access_token, issued.expires_in)
    response.headers["Cache-Control"] = "no-store"
    return Me.model_validate(await session.get_one(User, read_token(settings, issued.access_token)))


@router.delete("/auth/session", status_code=204)
async def end_session(request: Request, response: Response) -> None:
    """Sign out: remove the session cookie."""
    require_web_header(request)
    clear_session_cookie(response, request.app.state.settings)


@router.post("/me/password", status_code=204)
async def change_password(
    request: Request,
    response: Response,
    body: PasswordChange,
    session: SessionDep,
    actor: CurrentActor,
) -> None:
    """Change one's own password; a web session gets a fresh cookie, older tokens end."""
    await service.change_own_password(
        session, actor, current_password=body.current_password, new_password=body.new_password
    )
    if request.cookies.get(SESSION_COOKIE):
        settings = request.app.state.settings
        token, lifetime = issue_token(settings, actor.user_id)
        set_session_cookie(response, settings, token, lifetime)
