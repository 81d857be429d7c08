"""Who is calling the CDS Hooks endpoints: the signed JWT of a trusted CDS Client, and CORS.

Every request to ``/cds-services`` (discovery, services, feedback) must carry
``Authorization: Bearer <JWT>`` (CDS Hooks 2.0 "Security and Safety").  :func:`cds_caller` is the
FastAPI dependency: it checks the token with ``b12.adapters.cds.jwt_verify.verify`` against the
trusted issuers (``B12_CDS_TRUSTED_ISSUERS``), with ``aud`` equal to the exact URL of the
endpoint called, then records the ``jti`` in the shared replay cache.  Any failure is HTTP 401
in the canonical error shape (``{"error": {"code": "unauthorized", "message": <reason>}}``);
without trusted issuers every CDS call is 401 (secure by default).

The token is never logged, stored or echoed: only its issuer, ``jti`` (until it expires) and
``kid`` are kept.  The app logs route templates only.

:func:`install_cors` allows the configured browser origins (``B12_CDS_ALLOWED_ORIGINS``), and
only for ``/cds-services`` paths; nothing else in the app answers cross-origin requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from b12.adapters.cds.jwt_verify import TokenRejected, verify
from b12.core.errors import FieldProblem, InputError
from b12.entrypoints.web.auth import services
from b12.entrypoints.web.errors import HttpProblem

CDS_PREFIX = "/cds-services"
NOT_CONFIGURED = (
    "CDS Hooks is not configured on this server: no trusted token issuers "
    "(set B12_CDS_TRUSTED_ISSUERS)"
)
CORS_METHODS = ("GET", "POST", "OPTIONS")
CORS_HEADERS = ("Authorization", "Content-Type")
CORS_MAX_AGE = 600


@dataclass(frozen=True)
class CdsCaller:
    """The verified CDS Client behind a request."""

    issuer: str
    jti: str
    kid: str
    tenant: str | None = None


def is_cds_path(path: str) -> bool:
    """``/cds-services`` itself or anything under it."""
    return path == CDS_PREFIX or path.startswith(CDS_PREFIX + "/")


def endpoint_url(request: Request, public_base_url: str | None) -> str:
    """The exact URL of the endpoint called, the ``aud`` a token must name.

    With a public base URL (the app's external address, e.g. ``https://cds.example.org``) it
    is that URL plus the path; otherwise the request's own URL without its query string.
    """
    if public_base_url:
        return public_base_url.rstrip("/") + request.url.path
    return str(request.url.replace(query="", fragment=""))


def _unauthorized(reason: str, *, token_sent: bool) -> HttpProblem:
    challenge = 'Bearer realm="cds-services"'
    if token_sent:
        challenge += ', error="invalid_token"'
    return HttpProblem(401, "unauthorized", reason, {"WWW-Authenticate": challenge})


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if header is None:
        raise _unauthorized("missing 'Authorization: Bearer <JWT>'", token_sent=False)
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("expected 'Authorization: Bearer <JWT>'", token_sent=False)
    return token.strip()


async def cds_caller(request: Request) -> CdsCaller:
    """FastAPI dependency: the verified caller of a CDS Hooks endpoint, else HTTP 401.

    The signature is checked on the event loop when the issuers' keys are files (a fraction
    of a millisecond of CPU), on a worker thread when a JWK Set may have to be fetched over
    https.  The ``jti`` goes to the replay cache's group commit
    (:meth:`~b12.adapters.sql.cds_store.CdsStore.remember_jti_async`): requests waiting at the
    same time share one insert on one worker thread.  The caller is also left on
    ``request.state.cds_caller``.
    """
    svc = services(request)
    issuers = svc.trusted_issuers
    if issuers is None:
        raise _unauthorized(NOT_CONFIGURED, token_sent=False)
    token = _bearer_token(request)
    now = svc.now()
    audience = endpoint_url(request, svc.config.public_base_url)
    try:
        if issuers.fetches_keys:
            verified = await run_in_threadpool(
                verify, token, audience=audience, now=now, issuers=issuers
            )
        else:
            verified = verify(token, audience=audience, now=now, issuers=issuers)
    except TokenRejected as exc:
        raise _unauthorized(exc.reason, token_sent=True) from None
    fresh = await svc.cds_store.remember_jti_async(
        verified.issuer, verified.jti, verified.remember_until, now
    )
    if not fresh:
        raise _unauthorized("token replayed (jti already used)", token_sent=True)
    caller = CdsCaller(
        issuer=verified.issuer, jti=verified.jti, kid=verified.kid, tenant=verified.tenant
    )
    request.state.cds_caller = caller
    return caller


#: Use as a handler parameter: ``caller: CdsCallerDep``.
CdsCallerDep = Annotated[CdsCaller, Depends(cds_caller)]


# -- CORS --------------------------------------------------------------------------------------


def checked_origin(origin: str) -> str:
    """``scheme://host[:port]`` normalised as browsers send it; InputError for anything else.

    Refused: ``*``, ``null``, anything with a path, query, fragment or credentials, schemes
    other than http and https.
    """
    problem = FieldProblem(
        "B12_CDS_ALLOWED_ORIGINS",
        f"{origin!r} is not an origin; expected scheme://host[:port] (no '*', no path)",
    )
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        raise InputError([problem]) from None
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or "*" in origin
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or parts.password is not None
    ):
        raise InputError([problem])
    scheme = parts.scheme.lower()
    default = {"http": 80, "https": 443}[scheme]
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


class CdsCors:
    """Starlette's ``CORSMiddleware`` applied to ``/cds-services`` paths only.

    Only the listed origins get ``Access-Control-Allow-Origin`` (never ``*``, never a reflected
    arbitrary origin); methods GET, POST, OPTIONS; request headers Authorization and
    Content-Type; no credentials (cookies are not used by CDS Clients).
    """

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=list(CORS_METHODS),
            allow_headers=list(CORS_HEADERS),
            allow_credentials=False,
            max_age=CORS_MAX_AGE,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_cds_path(str(scope.get("path", ""))):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install_cors(app: FastAPI, origins: Sequence[str]) -> None:
    """Allow these browser origins to call the CDS Hooks endpoints (none: no CORS at all)."""
    allowed = list(dict.fromkeys(checked_origin(origin) for origin in origins))
    if allowed:
        app.add_middleware(CdsCors, origins=allowed)
