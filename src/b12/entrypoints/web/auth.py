"""Who is asking, and may they?  Session cookies for people, bearer tokens for machines.

* A browser signs in at ``/login`` and gets ``b12_session`` (HttpOnly, SameSite=Lax, Secure
  behind TLS).  The session row holds a CSRF token; every form POST must echo it in the hidden
  ``csrf_token`` field, and a JSON POST made with the cookie must send it as ``X-CSRF-Token``.
* A machine client sends ``Authorization: Bearer <token>``; tokens are stored hashed.  Bearer
  requests need no CSRF token (a browser never adds that header by itself).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from b12.adapters.sql.accounts import Session, User
from b12.entrypoints.web.errors import HttpProblem, LoginRequired
from b12.entrypoints.web.services import Services

SESSION_COOKIE = "b12_session"
LOGIN_CSRF_COOKIE = "b12_login_csrf"

#: What each role may do.  Reviewers have clinicians' rights plus content review; the
#: clinical safety officer has a reviewer's rights plus clinical sign-off of content.
PERMISSIONS: dict[str, frozenset[str]] = {
    "clinician": frozenset({"plan", "registry", "enrol", "record", "kb", "submit"}),
    "nurse": frozenset({"plan", "registry", "record", "kb"}),
    "reviewer": frozenset({"plan", "registry", "enrol", "record", "kb", "submit", "review"}),
    "safety_officer": frozenset(
        {"plan", "registry", "enrol", "record", "kb", "submit", "review", "sign_off"}
    ),
    "admin": frozenset(
        {"plan", "registry", "enrol", "record", "kb", "submit", "review", "retire", "admin"}
    ),
}


@dataclass(frozen=True)
class Principal:
    """The signed-in user and how they proved it."""

    user: User
    via: Literal["session", "token"]
    session: Session | None = None

    def may(self, permission: str) -> bool:
        """Whether the user's role grants ``permission``."""
        return permission in PERMISSIONS.get(self.user.role, frozenset())

    @property
    def csrf_token(self) -> str:
        """The session's CSRF token ('' for token clients, who do not need one)."""
        return self.session.csrf_token if self.session else ""


def services(request: Request) -> Services:
    """The app's shared services."""
    found: Services = request.app.state.services
    return found


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HttpProblem(
            401, "unauthorized", "expected 'Authorization: Bearer <token>'", _challenge()
        )
    return token.strip()


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="b12"'}


def identify(request: Request) -> Principal | None:
    """The principal behind the request, or None."""
    svc = services(request)
    now = svc.now()
    token = _bearer(request)
    if token is not None:
        user = svc.accounts.user_for_token(token, now=now)
        if user is None:
            raise HttpProblem(401, "unauthorized", "unknown or revoked API token", _challenge())
        return Principal(user, "token")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        session = svc.accounts.session(cookie, now=now)
        if session is not None:
            return Principal(session.user, "session", session)
    return None


def _cached_bearer(request: Request) -> Principal | None:
    """The principal of a well-formed bearer token found in the token cache (no I/O), else
    None (then :func:`identify` decides, on a worker thread)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    user = services(request).accounts.cached_user_for_token(token.strip())
    return Principal(user, "token") if user is not None else None


async def api_principal(request: Request) -> Principal:
    """FastAPI dependency for JSON endpoints: 401 in the canonical shape when not signed in.

    A bearer token found valid in the last few seconds (the token cache) is answered on the
    event loop; anything needing the database (a token not cached, a session cookie) runs on a
    worker thread so the loop never waits for it.
    """
    principal = _cached_bearer(request) or await run_in_threadpool(identify, request)
    if principal is None:
        raise HttpProblem(
            401, "unauthorized", "sign in or send 'Authorization: Bearer <token>'", _challenge()
        )
    request.state.principal = principal
    return principal


def page_principal(request: Request) -> Principal:
    """FastAPI dependency for pages: redirect to the login page when not signed in."""
    try:
        principal = identify(request)
    except HttpProblem:
        principal = None
    if principal is None:
        raise LoginRequired(request.url.path)
    request.state.principal = principal
    return principal


def require(principal: Principal, permission: str) -> None:
    """403 unless the principal's role grants ``permission``."""
    if not principal.may(permission):
        raise HttpProblem(
            403, "forbidden", f"the role {principal.user.role!r} may not do this ({permission})"
        )


def same_secret(supplied: str, expected: str) -> bool:
    """Constant-time comparison that is also safe for non-ASCII input (compares UTF-8 bytes)."""
    return hmac.compare_digest(
        supplied.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def check_csrf(principal: Principal, supplied: str | None) -> None:
    """A cookie-authenticated change must carry the session's CSRF token."""
    if principal.via == "token":
        return
    expected = principal.csrf_token
    if not supplied or not expected or not same_secret(supplied, expected):
        raise HttpProblem(403, "csrf", "the form has expired or did not come from b12; reload it")


async def form_csrf(request: Request, principal: Principal) -> None:
    """Check the hidden ``csrf_token`` field of a form POST."""
    form = await request.form()
    value = form.get("csrf_token")
    check_csrf(principal, value if isinstance(value, str) else None)


def header_csrf(request: Request, principal: Principal) -> None:
    """Check ``X-CSRF-Token`` on a JSON POST made with the session cookie."""
    check_csrf(principal, request.headers.get("x-csrf-token"))


#: Dependency annotations: ``principal: PagePrincipal`` in a page handler's signature.
PagePrincipal = Annotated[Principal, Depends(page_principal)]
ApiPrincipal = Annotated[Principal, Depends(api_principal)]
