"""Signing in to the dashboard: an API key, typed once, kept in a cookie.

The sign-in form posts the key; the answer sets it as an HttpOnly, SameSite=Strict
cookie whose path is /ui, so it never reaches the API (which keeps Bearer keys) and
no other site can make the browser send it. The cookie holds the key itself rather
than a session of this process: every worker of `ledger serve` understands it, and
removing a key from the keys file signs its browser out at the next page.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request

from api.auth import Principal

COOKIE = "ledger_ui_key"
COOKIE_PATH = "/ui"
MAX_AGE_SECONDS = 8 * 3600  # a working day
SIGN_IN_PATH = "/ui/login"
SIGN_OUT_PATH = "/ui/logout"


class SignInRequired(Exception):
    """Raised by a page when the browser sent no valid key cookie."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


def signed_in(request: Request) -> Principal | None:
    key = request.cookies.get(COOKIE)
    keys = getattr(request.app.state, "api_keys", None)
    if not key or keys is None:
        return None
    principal: Principal | None = keys.authenticate(key)
    return principal


def require_user(request: Request) -> Principal:
    """The signed-in user; raises SignInRequired (answered by a redirect to the form)."""
    principal = signed_in(request)
    if principal is None:
        raise SignInRequired(request.url.path + (f"?{request.url.query}"
                                                 if request.url.query else ""))
    return principal


def sign_in_url(back_to: str) -> str:
    return f"{SIGN_IN_PATH}?next={quote(back_to, safe='')}"


def safe_next(value: str | None) -> str:
    """Only a path of the dashboard: never an open redirect to another site."""
    if value and value.startswith("/ui") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui"
