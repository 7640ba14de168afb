"""JWT access tokens signed with EJ_SECRET_KEY."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
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
        "iat_ms": int(now.timestamp() * 1000),  # finer than iat: revocation may be this second
        "exp": now + timedelta(seconds=lifetime),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), lifetime


def read_token(settings: Settings, token: str) -> uuid.UUID:
    """Return the user id a valid token names, or raise 401."""
    return read_claims(settings, token).user_id


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: whose it is and when it was issued (ms since the epoch)."""

    user_id: uuid.UUID
    issued_ms: int


def read_claims(settings: Settings, token: str) -> TokenClaims:
    """Return the claims of a valid token, or raise 401."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
        )
        issued = claims.get("iat_ms", int(claims.get("iat", 0)) * 1000)
        return TokenClaims(uuid.UUID(claims["sub"]), int(issued))
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise Unauthorized(
            "The access token is missing, expired or invalid.",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc


def check_not_revoked(issued_ms: int, credentials_changed_at: datetime | None) -> None:
    """Raise 401 when the token predates the user's last password, role or account change."""
    if credentials_changed_at is None:
        return
    if issued_ms < int(credentials_changed_at.timestamp() * 1000):
        raise Unauthorized(
            "This session has ended: the account's password, role or status changed. "
            "Sign in again.",
            headers={"WWW-Authenticate": "Bearer"},
        )
