"""CDS Hooks fixtures: test signing keys, trusted issuers, the app, and signed tokens.

* Keys (session): ``signing_keys["ec"]`` (P-384, ES384, issuer :data:`ISSUER`), ``["rsa"]``
  (RSA 2048, RS384, :data:`ISSUER`), ``["remote"]`` (P-384, :data:`REMOTE_ISSUER`, whose JWK Set
  is "fetched" from :data:`REMOTE_JWKS_URL` by :class:`FakeJwksServer`), ``["pinned"]`` (P-384,
  :data:`PINNED_ISSUER`: a local JWK Set file plus an allowed ``jku``), ``["rogue"]`` (P-384,
  claims :data:`ISSUER` and the EC key's ``kid`` but is not in any JWK Set).
* ``trusted_issuers_path`` — the trusted-issuers JSON file (and the JWK Set files it names) in a
  temp folder; ``jwks_server`` — the fake https JWK Set host (``.documents``, ``.calls``).
* ``app`` — ``create_app`` on a fresh database (``backend``/``web_db_url``/``clock`` from
  ``tests/web/conftest.py``) with those issuers, CORS for :data:`ALLOWED_ORIGIN`, and
  its trusted issuers fetching through ``jwks_server`` (no network).  A test-only route
  ``GET /cds-services/_probe`` (:data:`PROBE`) answers ``{"issuer", "jti", "kid"}`` of the
  verified caller.  ``make_app(**config)`` builds another app on the same database.
* ``http`` — a ``TestClient`` on ``app``.
* PostgreSQL: override ``backend`` with ``params=BACKENDS`` (as in tests/web); the database is
  ``b12_cds_<pid>`` (or ``B12_TEST_POSTGRES_URL``), reset for each test.
* ``sign(claims_overrides=None, headers_overrides=None, key="ec", *, path="/cds-services")`` — a
  valid JWT (``iat`` = the app clock, ``exp`` + 5 min, a fresh ``jti``, ``aud`` =
  ``http://testserver`` + ``path``); an override value :data:`OMIT` deletes that member.
* ``cds_headers(url_path, **sign_kwargs)`` — ``{"Authorization": "Bearer <sign(path=url_path)>"}``.
* :func:`forge` builds a token from any header, claims and signature bytes (attacks).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm, get_default_algorithms

from b12.adapters.cds.jwt_verify import TrustedIssuers
from b12.core.kb_build import RawContent
from b12.entrypoints.web import services as services_module
from b12.entrypoints.web.app import create_app
from b12.entrypoints.web.cds_auth import CdsCallerDep
from b12.entrypoints.web.services import Services, WebConfig
from tests.registry.conftest import (
    throwaway_postgres,
)
from tests.web import conftest as web_fixtures
from tests.web.conftest import BACKENDS, NOW, Clock

# The web fixtures this package reuses (see tests/web/conftest.py).  ``web_db_url`` takes
# PostgreSQL from this package's own ``web_postgres_url`` below.
backend = web_fixtures.backend
clock = web_fixtures.clock
knowledge_raw = web_fixtures.knowledge_raw
web_db_url = web_fixtures.web_db_url
__all__ = ["BACKENDS", "NOW", "Clock"]

BASE_URL = "http://testserver"
ISSUER = "https://ehr.example.test"
REMOTE_ISSUER = "https://remote-ehr.example.test"
REMOTE_JWKS_URL = "https://remote-ehr.example.test/.well-known/jwks.json"
PINNED_ISSUER = "https://sandbox.example.test"
PINNED_JKU = "https://sandbox.example.test/.well-known/jwks.json"
EC_KID = "ec-p384-1"
RSA_KID = "rsa-2048-1"
REMOTE_KID = "remote-ec-1"
PINNED_KID = "pinned-ec-1"
ALLOWED_ORIGIN = "https://ehr-ui.example.test"
PROBE = "/cds-services/_probe"
TOKEN_LIFETIME = 300


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


#: In ``claims_overrides``/``headers_overrides``: remove that member.
OMIT: Any = _Omit()


@dataclass(frozen=True)
class SigningKey:
    """A test key: who signs with it, its ``kid`` and algorithm, and the private key."""

    issuer: str
    kid: str
    alg: str
    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK (with ``kid``, ``use`` and ``alg``)."""
        public = self.private.public_key()
        if isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}


def jwks(*keys: SigningKey) -> dict[str, Any]:
    """A JWK Set of these keys' public halves."""
    return {"keys": [k.public_jwk() for k in keys]}


def b64url(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def forge(header: Any, claims: Any, signature: bytes = b"") -> str:
    """A compact JWS from any header and claims (JSON-encoded) and raw signature bytes."""
    return ".".join(
        [
            b64url(json.dumps(header).encode()),
            b64url(json.dumps(claims).encode()),
            b64url(signature),
        ]
    )


def encode(header: dict[str, Any], claims: dict[str, Any], key: SigningKey) -> str:
    """Sign ``header.claims`` with ``key``'s own algorithm (whatever the header says)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    algorithm = get_default_algorithms()[key.alg]
    signature = algorithm.sign(signing_input.encode("ascii"), key.private)
    return f"{signing_input}.{b64url(signature)}"


def _apply(base: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    result = dict(base)
    for name, value in (overrides or {}).items():
        if value is OMIT:
            result.pop(name, None)
        else:
            result[name] = value
    return result


class FakeJwksServer:
    """Stands in for the https hosts of JWK Sets: ``documents[url]`` is served, calls recorded."""

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.calls: list[str] = []
        self.failing = False

    def publish(self, url: str, document: Any) -> None:
        """Serve ``document`` (JSON-encoded) at ``url``."""
        self.documents[url] = json.dumps(document).encode()

    def __call__(self, url: str, timeout: float) -> bytes:
        assert url.startswith("https://"), url
        assert 0 < timeout <= 10
        self.calls.append(url)
        if self.failing or url not in self.documents:
            raise OSError("unreachable")
        return self.documents[url]


@pytest.fixture(scope="session")
def web_postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL database ``b12_cds_<pid>`` (or ``B12_TEST_POSTGRES_URL``)."""
    yield from throwaway_postgres("b12_cds")


# -- keys and configuration --------------------------------------------------------------------


@pytest.fixture(scope="session")
def signing_keys() -> dict[str, SigningKey]:
    """The test keys by name (generated once per session)."""
    p384 = ec.SECP384R1()
    return {
        "ec": SigningKey(ISSUER, EC_KID, "ES384", ec.generate_private_key(p384)),
        "rsa": SigningKey(
            ISSUER, RSA_KID, "RS384", rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ),
        "remote": SigningKey(REMOTE_ISSUER, REMOTE_KID, "ES384", ec.generate_private_key(p384)),
        "pinned": SigningKey(PINNED_ISSUER, PINNED_KID, "ES384", ec.generate_private_key(p384)),
        "rogue": SigningKey(ISSUER, EC_KID, "ES384", ec.generate_private_key(p384)),
    }


@pytest.fixture
def trusted_issuers_path(tmp_path: Path, signing_keys: dict[str, SigningKey]) -> Path:
    """The trusted-issuers file: a local JWK Set, an https one, and a pinned file with a jku."""
    folder = tmp_path / "cds-keys"
    folder.mkdir()
    (folder / "ehr-jwks.json").write_text(
        json.dumps(jwks(signing_keys["ec"], signing_keys["rsa"])), "utf-8"
    )
    (folder / "sandbox-jwks.json").write_text(json.dumps(jwks(signing_keys["pinned"])), "utf-8")
    config = {
        ISSUER: "ehr-jwks.json",
        REMOTE_ISSUER: REMOTE_JWKS_URL,
        PINNED_ISSUER: {"jwks": "sandbox-jwks.json", "jku": PINNED_JKU},
    }
    path = folder / "trusted-issuers.json"
    path.write_text(json.dumps(config, indent=2), "utf-8")
    return path


@pytest.fixture
def jwks_server(signing_keys: dict[str, SigningKey]) -> FakeJwksServer:
    """The fake https JWK Set host, serving the remote issuer's keys."""
    server = FakeJwksServer()
    server.publish(REMOTE_JWKS_URL, jwks(signing_keys["remote"]))
    return server


# -- the app -----------------------------------------------------------------------------------


def add_probe(app: FastAPI) -> None:
    """Mount ``GET /cds-services/_probe`` (first in the route table): the verified caller."""

    async def probe(request: Request, caller: CdsCallerDep) -> dict[str, str]:
        return {"issuer": caller.issuer, "jti": caller.jti, "kid": caller.kid}

    app.add_api_route(PROBE, probe, methods=["GET"], include_in_schema=False)
    app.router.routes.insert(0, app.router.routes.pop())


@pytest.fixture
def make_app(
    web_db_url: str,
    clock: Clock,
    knowledge_raw: RawContent,
    monkeypatch: pytest.MonkeyPatch,
    trusted_issuers_path: Path,
    jwks_server: FakeJwksServer,
) -> Iterator[Callable[..., FastAPI]]:
    """``make_app(**config)``: an app on the test database (CDS configured; overridable)."""
    monkeypatch.setattr(services_module, "read_raw", lambda _directory: knowledge_raw)
    made: list[FastAPI] = []

    def make(**config: Any) -> FastAPI:
        settings: dict[str, Any] = {
            "database_url": web_db_url,
            "clock": clock,
            "cds_trusted_issuers": trusted_issuers_path,
            "cds_allowed_origins": (ALLOWED_ORIGIN,),
            **config,
        }
        application = create_app(WebConfig(**settings))
        svc: Services = application.state.services
        if settings["cds_trusted_issuers"] is not None:
            svc.trusted_issuers = TrustedIssuers.load(
                settings["cds_trusted_issuers"], fetch=jwks_server
            )
        add_probe(application)
        made.append(application)
        return application

    try:
        yield make
    finally:
        for application in made:
            application.state.services.registry.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., FastAPI]) -> FastAPI:
    """The app with CDS Hooks security configured (see the module docstring)."""
    return make_app()


@pytest.fixture
def services(app: FastAPI) -> Services:
    """The app's shared services."""
    found: Services = app.state.services
    return found


@pytest.fixture
def http(app: FastAPI) -> Iterator[TestClient]:
    """A test client on ``app`` (no cookies, no redirects followed)."""
    with TestClient(app, follow_redirects=False) as client:
        yield client


# -- tokens ------------------------------------------------------------------------------------


@pytest.fixture
def sign(signing_keys: dict[str, SigningKey], clock: Clock) -> Callable[..., str]:
    """``sign(claims_overrides=None, headers_overrides=None, key="ec", *, path=...)``."""

    def make(
        claims_overrides: dict[str, Any] | None = None,
        headers_overrides: dict[str, Any] | None = None,
        key: str = "ec",
        *,
        path: str = "/cds-services",
    ) -> str:
        signer = signing_keys[key]
        now = int(clock().timestamp())
        claims = {
            "iss": signer.issuer,
            "aud": BASE_URL + path,
            "exp": now + TOKEN_LIFETIME,
            "iat": now,
            "jti": secrets.token_urlsafe(16),
        }
        header = {"alg": signer.alg, "typ": "JWT", "kid": signer.kid}
        return encode(_apply(header, headers_overrides), _apply(claims, claims_overrides), signer)

    return make


@pytest.fixture
def cds_headers(sign: Callable[..., str]) -> Callable[..., dict[str, str]]:
    """``cds_headers(url_path, **sign_kwargs)``: an Authorization header valid for that path."""

    def make(url_path: str, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {sign(path=url_path, **kwargs)}"}

    return make
