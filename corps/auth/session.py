"""The web app's session cookie: the same JWT as a bearer token, with a custom-header CSRF rule.

The cookie carries exactly the access token `/auth/token` would give, so every check a bearer
token passes (signature, expiry, the user still active, revocation after a credentials change)
applies to the cookie too. A state-changing request authenticated by the cookie must carry
the `X-EJ-Web` header, which a cross-site form or image cannot send (OWASP's custom-header
defence); SameSite=Strict is the second layer.
"""

from __future__ import annotations

from fastapi import Request, Response

from corps.errors import Forbidden
from corps.settings import Settings

SESSION_COOKIE = "ej_session"
CSRF_HEADER = "X-EJ-Web"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def require_web_header(request: Request) -> None:
    """Refuse a state-changing cookie request without the app's custom header (403)."""
    if request.method not in SAFE_METHODS and not request.headers.get(CSRF_HEADER):
        raise Forbidden(
            f"A request signed in by the session cookie must carry the {CSRF_HEADER} header."
        )


def session_token(request: Request) -> str | None:
    """The access token in the session cookie, after the CSRF rule; None without a cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    require_web_header(request)
    return token


def set_session_cookie(response: Response, settings: Settings, token: str, lifetime: int) -> None:
    """Put the access token in an HttpOnly, SameSite=Strict cookie (Secure in production)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=lifetime,
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.env == "prod",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Remove the session cookie."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=settings.env == "prod"
    )
