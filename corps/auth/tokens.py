"""JWT access tokens signed with EJ_SECRET_KEY."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt

from corps.errors import Unauthorized
from corps.settings import Settings

ALGORITHM = "HS256"
AUDIENCE = "ejcorps-api"


def issue_token(settings: Settings, user_id: uuid.UUID) -> tuple[str, int]:
    """Sign an access token for a user; return it with its lifetime in seconds."""
    lifetime = settings.token_minutes * 60
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(seconds=lifetime),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), lifetime


def read_token(settings: Settings, token: str) -> uuid.UUID:
    """Return the user id a valid token names, or raise 401."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
        )
        return uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise Unauthorized(
            "The access token is missing, expired or invalid.",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc
