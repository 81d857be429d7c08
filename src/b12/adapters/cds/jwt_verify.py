"""Verify the JWT a CDS Client sends with every CDS Hooks request (``Authorization: Bearer``).

The rules, from CDS Hooks 2.0 "Security and Safety" (reference ``interop.md`` §1.9):

* header: ``alg`` is one of :data:`ALGORITHMS` — asymmetric only.  ``ES384`` and ``RS384`` are
  the spec's recommendation; ``ES256``/``ES512``, ``RS256``/``RS512`` and ``PS256``/``PS384``/
  ``PS512`` are accepted too because EHRs use them and they are equally safe.  ``none`` and the
  symmetric ``HS*`` are never accepted (the spec forbids both, and ``HS*`` with a public key as
  the secret is the classic algorithm-confusion forgery).  The key must fit the algorithm
  (``ES*`` an EC key on the matching curve, ``RS*``/``PS*`` an RSA key of 2048 bits or more;
  a JWK's own ``alg``, when given, must equal the header's).  ``typ`` is ``JWT`` (any case),
  ``kid`` is required, ``crit`` and ``b64`` are refused.  ``jku`` is optional but, when present,
  must equal the JWK Set URL configured for the issuer: it is never fetched because a token
  names it.  Embedded keys (``jwk``, ``x5c``, ``x5u``) are ignored.
* claims: ``iss`` is a trusted issuer; ``aud`` (a string or a list) contains the exact URL of
  the endpoint called; ``exp`` is required and not past; ``iat`` is required, not in the future
  and not older than ``max_age_seconds`` (one hour); ``nbf``, when present, is not in the
  future; ``jti`` is a non-empty string of at most 200 characters.  A leeway of
  :data:`LEEWAY_SECONDS` (30 s, never more than 60) absorbs clock skew.  ``sub`` and ``tenant``
  are accepted, not required.
* the key is found by ``kid`` in that issuer's JWK Set, loaded by :class:`TrustedIssuers`.

The replay check (``jti`` seen before) needs the database and lives in
``b12.adapters.sql.cds_store``; :attr:`VerifiedToken.remember_until` says how long to keep it.

Apart from fetching an https JWK Set (behind an injectable ``fetch`` function) nothing here
touches the network, and nothing here reads the clock: ``now`` is an argument (a naive ``now``
is local time, like the rest of b12).  Rejection reasons are short fixed phrases: they never
quote the token or any value taken from it.
"""

from __future__ import annotations

import json
import logging
import math
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.api_jws import PyJWS
from jwt.exceptions import PyJWTError

from b12.core.errors import B12Error, FieldProblem, InputError

log = logging.getLogger("b12.cds")

#: Accepted ``alg`` values: asymmetric signatures only (never ``none``, never ``HS*``).
ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
#: The curve each ECDSA algorithm requires (cryptography's curve names).
EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
MIN_RSA_BITS = 2048
LEEWAY_SECONDS = 30
MAX_LEEWAY_SECONDS = 60
MAX_AGE_SECONDS = 3600
MAX_TOKEN_LENGTH = 16_384
MAX_JTI_LENGTH = 200  # the ``cds_jti.jti`` column
MAX_ISSUER_LENGTH = 300  # the ``cds_jti.issuer`` and ``cds_feedback.issuer`` columns
JWKS_TTL_SECONDS = 300.0
JWKS_MIN_REFRESH_SECONDS = 10.0
JWKS_TIMEOUT_SECONDS = 3.0
MAX_JWKS_BYTES = 1_048_576
SETTING = "B12_CDS_TRUSTED_ISSUERS"
_LATEST_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z

#: ``fetch(url, timeout_seconds) -> body``: how an https JWK Set is read (tests inject one).
JwksFetcher = Callable[[str, float], bytes]
PublicKey = EllipticCurvePublicKey | RSAPublicKey


class TokenRejected(B12Error):
    """The token cannot be accepted; ``reason`` is a short phrase safe to show and log."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class VerifiedToken:
    """What a valid token says.  Times are timezone-aware UTC.

    ``remember_until`` is when its ``jti`` may be forgotten by the replay cache: after it the
    token is refused anyway (expired, or its ``iat`` is older than the maximum age).
    """

    issuer: str
    jti: str
    kid: str
    exp: datetime
    iat: datetime
    tenant: str | None
    remember_until: datetime


@dataclass(frozen=True)
class VerificationKey:
    """One public key from a JWK Set."""

    kid: str
    key: PublicKey
    alg: str | None = None

    def fits(self, alg: str) -> bool:
        """Whether this key may verify a signature made with ``alg``."""
        if self.alg is not None and self.alg != alg:
            return False
        if alg.startswith("ES"):
            return isinstance(self.key, EllipticCurvePublicKey) and (
                self.key.curve.name == EC_CURVES.get(alg)
            )
        return isinstance(self.key, RSAPublicKey) and self.key.key_size >= MIN_RSA_BITS


def parse_jwks(document: Any) -> dict[str, VerificationKey]:
    """The usable public signing keys of a JWK Set, by ``kid``.

    Keys that are not EC or RSA, are marked for another use (``use`` other than ``sig``,
    ``key_ops`` without ``verify``), name an algorithm not in :data:`ALGORITHMS`, have no
    ``kid``, or are RSA keys under 2048 bits are skipped.  Raises ``ValueError`` (short message)
    for a set that is not a JWK Set, that holds private key material or a repeated ``kid``, or
    that has no usable key.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError('not a JWK Set (expected {"keys": [...]})')
    keys: dict[str, VerificationKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict):
            continue
        if any(name in jwk for name in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise ValueError("the JWK Set holds private or secret key material")
        found = _verification_key(jwk)
        if found is None:
            continue
        if found.kid in keys:
            raise ValueError("the JWK Set repeats a kid")
        keys[found.kid] = found
    if not keys:
        raise ValueError("the JWK Set has no usable public signing key (EC or RSA with a kid)")
    return keys


def _verification_key(jwk: dict[str, Any]) -> VerificationKey | None:
    kid, kty, alg = jwk.get("kid"), jwk.get("kty"), jwk.get("alg")
    if not isinstance(kid, str) or not kid or kty not in ("EC", "RSA"):
        return None
    if jwk.get("use", "sig") != "sig":
        return None
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None
    if alg is not None and alg not in ALGORITHMS:
        return None
    try:
        key = ECAlgorithm.from_jwk(jwk) if kty == "EC" else RSAAlgorithm.from_jwk(jwk)
    except (PyJWTError, ValueError, TypeError):
        return None
    if not isinstance(key, EllipticCurvePublicKey | RSAPublicKey):
        return None
    if isinstance(key, RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return None
    return VerificationKey(kid=kid, key=key, alg=alg)


# -- fetching an https JWK Set -----------------------------------------------------------------


def is_https_url(value: str) -> bool:
    """An absolute ``https://host/...`` URL without credentials or fragment."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and bool(parts.hostname)
        and parts.username is None
        and parts.password is None
        and not parts.fragment
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are refused: the configured URL is the only place keys come from."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fetch_jwks(url: str, timeout: float) -> bytes:
    """GET an https JWK Set: certificate checked, no redirects, at most 1 MiB."""
    if not is_https_url(url):
        raise ValueError("only https JWK Set URLs are fetched")
    opener = urllib.request.build_opener(
        _NoRedirect, urllib.request.HTTPSHandler(context=ssl.create_default_context())
    )
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with opener.open(request, timeout=timeout) as response:
        if response.status != 200:
            raise ValueError(f"HTTP {response.status}")
        body: bytes = response.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError("JWK Set larger than 1 MiB")
    return body


# -- the trusted issuers -----------------------------------------------------------------------


@dataclass
class _Issuer:
    """One trusted issuer: its keys (from a file, or fetched from ``url``) and allowed jku."""

    name: str
    jku: str | None
    url: str | None = None
    keys: dict[str, VerificationKey] | None = None
    fetched_at: float | None = None
    attempted_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class TrustedIssuers:
    """The allowlist of token issuers and where each one's JWK Set is.

    Built from a JSON object mapping each trusted ``iss`` to its JWK Set::

        {
          "https://ehr.example.org": "https://ehr.example.org/.well-known/jwks.json",
          "https://other-ehr.example.org": "keys/other-ehr-jwks.json",
          "https://sandbox.cds-hooks.org": {
            "jwks": "keys/sandbox-jwks.json",
            "jku": "https://sandbox.cds-hooks.org/.well-known/jwks.json"
          }
        }

    * an ``https://`` URL is fetched when first needed (timeout :data:`JWKS_TIMEOUT_SECONDS`),
      kept for ``ttl_seconds``, and fetched again once when a token names an unknown ``kid``
      (at most once every ``min_refresh_seconds``); if a refresh fails the previous keys stay
      in use.  A token's ``jku`` must be exactly this URL.  ``http:`` URLs are refused.
    * a file path (relative to the JSON file) is read once, at load; a token carrying a ``jku``
      is refused unless the object form names that ``jku`` (the URL the issuer publishes; it is
      still never fetched — the pinned file is used).

    Thread-safe: one lock per fetched issuer (concurrent requests wait for one fetch).
    """

    def __init__(
        self,
        issuers: Mapping[str, _Issuer],
        *,
        fetch: JwksFetcher = fetch_jwks,
        ttl_seconds: float = JWKS_TTL_SECONDS,
        min_refresh_seconds: float = JWKS_MIN_REFRESH_SECONDS,
        timeout_seconds: float = JWKS_TIMEOUT_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issuers = dict(issuers)
        self._fetch = fetch
        self.ttl_seconds = ttl_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self.timeout_seconds = timeout_seconds
        self._monotonic = monotonic

    @classmethod
    def load(cls, path: Path, **options: Any) -> TrustedIssuers:
        """Read the trusted-issuers JSON file (and every JWK Set file it names).

        Raises ``InputError`` on field ``B12_CDS_TRUSTED_ISSUERS`` naming every problem.
        """
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError([FieldProblem(SETTING, f"cannot read {path}: {exc}")]) from None
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise InputError([FieldProblem(SETTING, f"{path} is not JSON: {exc}")]) from None
        return cls.from_config(document, base_dir=path.parent, **options)

    @classmethod
    def from_config(cls, document: Any, *, base_dir: Path, **options: Any) -> TrustedIssuers:
        """Build from the parsed JSON object; relative file paths are taken from ``base_dir``."""
        if not isinstance(document, dict) or not document:
            raise InputError(
                [
                    FieldProblem(
                        SETTING,
                        "expected a JSON object mapping each trusted issuer (iss) to its JWK "
                        "Set: a file path or an https URL",
                    )
                ]
            )
        problems: list[FieldProblem] = []
        issuers: dict[str, _Issuer] = {}
        for name, spec in document.items():
            try:
                issuers[name] = _issuer_from_config(name, spec, base_dir)
            except ValueError as exc:
                problems.append(FieldProblem(SETTING, f"issuer {name!r}: {exc}"))
        if problems:
            raise InputError(problems)
        return cls(issuers, **options)

    @property
    def issuers(self) -> tuple[str, ...]:
        """The trusted ``iss`` values."""
        return tuple(self._issuers)

    @property
    def fetches_keys(self) -> bool:
        """Whether finding a key may fetch a JWK Set over https (blocking I/O)."""
        return any(entry.url is not None for entry in self._issuers.values())

    def __contains__(self, issuer: object) -> bool:
        return isinstance(issuer, str) and issuer in self._issuers

    def jku_allowed(self, issuer: str, jku: object) -> bool:
        """Whether a token from ``issuer`` may carry this ``jku`` header."""
        entry = self._issuers.get(issuer)
        return entry is not None and entry.jku is not None and jku == entry.jku

    def key(self, issuer: str, kid: str) -> VerificationKey | None:
        """The issuer's key ``kid`` (None if it has none).

        Raises :class:`TokenRejected` when the issuer's JWK Set has never been fetched.
        """
        entry = self._issuers[issuer]
        if entry.url is None:
            return entry.keys.get(kid) if entry.keys else None
        with entry.lock:
            now = self._monotonic()
            stale = entry.fetched_at is None or now - entry.fetched_at >= self.ttl_seconds
            if stale and self._may_fetch(entry, now):
                self._refresh(entry, now)
            found = entry.keys.get(kid) if entry.keys else None
            if found is None and self._may_fetch(entry, now):
                self._refresh(entry, now)
                found = entry.keys.get(kid) if entry.keys else None
            if entry.keys is None:
                raise TokenRejected("issuer keys unavailable")
            return found

    def _may_fetch(self, entry: _Issuer, now: float) -> bool:
        return entry.attempted_at is None or now - entry.attempted_at >= self.min_refresh_seconds

    def _refresh(self, entry: _Issuer, now: float) -> None:
        assert entry.url is not None
        entry.attempted_at = now
        try:
            body = self._fetch(entry.url, self.timeout_seconds)
            entry.keys = parse_jwks(json.loads(body))
        except Exception as exc:  # any failure: keep the previous keys
            log.warning("JWK Set fetch failed for %s: %s", entry.url, type(exc).__name__)
            return
        entry.fetched_at = now


def _location_and_jku(spec: Any) -> tuple[str, str | None]:
    location: Any
    jku: Any
    if isinstance(spec, str):
        location, jku = spec, None
    elif isinstance(spec, dict):
        unknown = sorted(set(spec) - {"jwks", "jku"})
        if unknown:
            raise ValueError(f"unknown keys {unknown}; expected 'jwks' and optional 'jku'")
        location, jku = spec.get("jwks"), spec.get("jku")
    else:
        raise ValueError('expected a JWK Set location or {"jwks": ..., "jku": ...}')
    if not isinstance(location, str) or not location.strip():
        raise ValueError("the JWK Set location must be a file path or an https URL")
    if jku is not None and (not isinstance(jku, str) or not is_https_url(jku)):
        raise ValueError("jku must be an https URL")
    return location, jku


def _issuer_from_config(name: Any, spec: Any, base_dir: Path) -> _Issuer:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_ISSUER_LENGTH:
        raise ValueError(f"an issuer is a non-empty string of at most {MAX_ISSUER_LENGTH}")
    location, jku = _location_and_jku(spec)
    if is_https_url(location):
        if jku is not None and jku != location:
            raise ValueError("jku must equal the JWK Set URL (or be left out)")
        return _Issuer(name=name, jku=location, url=location)
    if "://" in location or location.lower().startswith(("http:", "https:")):
        raise ValueError("only https JWK Set URLs are allowed (never http)")
    path = base_dir / Path(location).expanduser()
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the JWK Set {path}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"the JWK Set {path} is not JSON: {exc}") from None
    try:
        keys = parse_jwks(document)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return _Issuer(name=name, jku=jku, keys=keys)


# -- verification ------------------------------------------------------------------------------

_JWS = PyJWS()


def verify(
    token: str,
    *,
    audience: str,
    now: datetime,
    issuers: TrustedIssuers,
    leeway_seconds: int = LEEWAY_SECONDS,
    max_age_seconds: int = MAX_AGE_SECONDS,
) -> VerifiedToken:
    """Check a CDS Hooks JWT; raise :class:`TokenRejected` with a short reason if it fails.

    ``audience`` is the exact URL of the endpoint called; ``now`` the current time (a naive
    value is local time).  The ``jti`` replay check is the caller's (it needs the database).
    """
    if not 0 <= leeway_seconds <= MAX_LEEWAY_SECONDS:
        raise ValueError(f"leeway_seconds must be 0 to {MAX_LEEWAY_SECONDS}")
    header, claims, signature = _unverified_parts(token)
    alg, kid = _checked_header(header)
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or issuer not in issuers:
        raise TokenRejected("untrusted issuer")
    if "jku" in header and not issuers.jku_allowed(issuer, header["jku"]):
        raise TokenRejected("jku not allowed for this issuer")
    key = issuers.key(issuer, kid)
    if key is None:
        raise TokenRejected("unknown kid")
    if not key.fits(alg):
        raise TokenRejected("key does not fit the algorithm")
    # The token was parsed (strict base64url, JSON) once above; only the signature is left.
    signing_input = token.rpartition(".")[0].encode("ascii")
    try:
        algorithm = _JWS.get_algorithm_by_name(alg)
        valid = algorithm.verify(signing_input, algorithm.prepare_key(key.key), signature)
    except (PyJWTError, NotImplementedError, ValueError, TypeError):
        raise TokenRejected("malformed token") from None
    if not valid:
        raise TokenRejected("bad signature")
    return _checked_claims(
        claims,
        issuer=issuer,
        kid=kid,
        audience=audience,
        now=now.timestamp(),
        leeway=leeway_seconds,
        max_age=max_age_seconds,
    )


def _unverified_parts(token: object) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """The header, the claims and the signature bytes, parsed (not verified)."""
    if not isinstance(token, str) or not token:
        raise TokenRejected("missing token")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenRejected("token too large")
    if not token.isascii() or token.count(".") != 2:
        raise TokenRejected("malformed token")
    try:
        parts = _JWS.decode_complete(token, options={"verify_signature": False})
        header, claims = parts["header"], json.loads(parts["payload"])
        signature: bytes = parts["signature"]
    except (PyJWTError, ValueError, RecursionError):
        raise TokenRejected("malformed token") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenRejected("malformed token")
    return header, claims, signature


def _checked_header(header: dict[str, Any]) -> tuple[str, str]:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise TokenRejected("algorithm not allowed")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.upper() != "JWT":
        raise TokenRejected("typ must be JWT")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenRejected("missing kid")
    if "crit" in header or "b64" in header:
        raise TokenRejected("unsupported header")
    return alg, kid


def _checked_claims(
    claims: dict[str, Any],
    *,
    issuer: str,
    kid: str,
    audience: str,
    now: float,
    leeway: int,
    max_age: int,
) -> VerifiedToken:
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or not audiences:
        raise TokenRejected("missing aud")
    if audience not in [a for a in audiences if isinstance(a, str)]:
        raise TokenRejected("aud does not match this endpoint")
    exp = _time_claim(claims, "exp")
    iat = _time_claim(claims, "iat")
    if exp <= now - leeway:
        raise TokenRejected("token expired")
    if iat > now + leeway:
        raise TokenRejected("iat in the future")
    if iat < now - max_age - leeway:
        raise TokenRejected("token too old")
    if exp < iat:
        raise TokenRejected("exp before iat")
    if "nbf" in claims and _time_claim(claims, "nbf") > now + leeway:
        raise TokenRejected("token not yet valid")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise TokenRejected("missing jti")
    if len(jti) > MAX_JTI_LENGTH:
        raise TokenRejected("jti too long")
    tenant = claims.get("tenant")
    if tenant is not None and not isinstance(tenant, str):
        raise TokenRejected("tenant must be a string")
    forget = min(exp, iat + max_age) + leeway
    return VerifiedToken(
        issuer=issuer,
        jti=jti,
        kid=kid,
        exp=datetime.fromtimestamp(exp, UTC),
        iat=datetime.fromtimestamp(iat, UTC),
        tenant=tenant,
        remember_until=datetime.fromtimestamp(forget, UTC),
    )


def _time_claim(claims: dict[str, Any], name: str) -> float:
    if name not in claims:
        raise TokenRejected(f"missing {name}")
    value = claims[name]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= _LATEST_TIMESTAMP
    ):
        raise TokenRejected(f"{name} must be a NumericDate")
    return float(value)
