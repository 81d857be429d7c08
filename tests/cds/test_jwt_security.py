"""CDS Hooks caller authentication (reference interop.md §1.9): JWT checks, replay, CORS, logs.

Most tests go through the real app (``GET /cds-services/_probe`` behind the ``cds_caller``
dependency); the JWK Set fetching and the configuration loader are tested on
:class:`TrustedIssuers` directly with an injected fetcher and clock (never the network).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from b12.adapters.cds.jwt_verify import (
    TokenRejected,
    TrustedIssuers,
    fetch_jwks,
    parse_jwks,
    verify,
)
from b12.core.errors import InputError
from b12.entrypoints.web.cds_auth import NOT_CONFIGURED, checked_origin, install_cors
from b12.entrypoints.web.services import Services
from tests.cds.conftest import (
    ALLOWED_ORIGIN,
    BASE_URL,
    EC_KID,
    ISSUER,
    NOW,
    OMIT,
    PINNED_JKU,
    PROBE,
    REMOTE_ISSUER,
    REMOTE_JWKS_URL,
    RSA_KID,
    FakeJwksServer,
    SigningKey,
    b64url,
    encode,
    forge,
    jwks,
)

Sign = Callable[..., str]
NOW_TS = int(NOW.timestamp())
PROBE_URL = BASE_URL + PROBE


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(http: TestClient, token: str) -> Any:
    return http.get(PROBE, headers=bearer(token))


def assert_401(response: Any, reason: str | None = None) -> None:
    """401 in the canonical error shape, with a Bearer challenge, never echoing the token."""
    assert response.status_code == 401, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "unauthorized"
    assert set(body["error"]) == {"code", "message", "fields"}
    if reason is not None:
        assert reason in body["error"]["message"], body
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="cds-services"')
    sent = response.request.headers.get("authorization", "")
    for part in sent.removeprefix("Bearer ").split("."):
        if len(part) >= 8:
            assert part not in response.text


# -- accepted tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "kid"), [("ec", EC_KID), ("rsa", RSA_KID)])
def test_valid_es384_and_rs384_tokens_are_accepted(
    http: TestClient, sign: Sign, key: str, kid: str
) -> None:
    token = sign({"jti": f"ok-{key}"}, key=key, path=PROBE)
    response = call(http, token)
    assert response.status_code == 200, response.text
    assert response.json() == {"issuer": ISSUER, "jti": f"ok-{key}", "kid": kid}


def test_aud_may_be_a_list_and_sub_tenant_and_lower_case_typ_are_accepted(
    http: TestClient, sign: Sign
) -> None:
    token = sign(
        {"aud": ["https://elsewhere.test/cds-services", PROBE_URL], "sub": "x", "tenant": "t1"},
        {"typ": "jwt"},
        path=PROBE,
    )
    assert call(http, token).status_code == 200


def test_a_token_within_the_leeway_is_accepted(http: TestClient, sign: Sign) -> None:
    late = sign({"exp": NOW_TS - 20, "iat": NOW_TS - 200}, path=PROBE)
    early = sign({"iat": NOW_TS + 20}, path=PROBE)
    assert call(http, late).status_code == 200
    assert call(http, early).status_code == 200


def test_the_https_issuer_keys_are_fetched_through_the_injected_fetcher(
    http: TestClient, sign: Sign, jwks_server: FakeJwksServer
) -> None:
    for n in range(3):
        token = sign({"jti": f"remote-{n}"}, key="remote", path=PROBE)
        response = call(http, token)
        assert response.status_code == 200, response.text
        assert response.json()["issuer"] == REMOTE_ISSUER
    assert jwks_server.calls == [REMOTE_JWKS_URL]  # fetched once, then cached


def test_jku_equal_to_the_configured_url_is_accepted(http: TestClient, sign: Sign) -> None:
    remote = sign(headers_overrides={"jku": REMOTE_JWKS_URL}, key="remote", path=PROBE)
    pinned = sign(headers_overrides={"jku": PINNED_JKU}, key="pinned", path=PROBE)
    pinned_without = sign(key="pinned", path=PROBE)
    for token in (remote, pinned, pinned_without):
        assert call(http, token).status_code == 200


def test_public_base_url_sets_the_audience(make_app: Callable[..., FastAPI], sign: Sign) -> None:
    app = make_app(public_base_url="https://cds.example.org/b12/")
    with TestClient(app) as http:
        ok = sign({"aud": "https://cds.example.org/b12" + PROBE}, path=PROBE)
        assert call(http, ok).status_code == 200
        assert_401(call(http, sign(path=PROBE)), "aud does not match")


# -- rejected tokens ---------------------------------------------------------------------------


def test_alg_none_is_rejected(http: TestClient, sign: Sign) -> None:
    token = sign(headers_overrides={"alg": "none"}, path=PROBE)
    unsigned = token.rsplit(".", 1)[0] + "."
    assert_401(call(http, unsigned), "algorithm not allowed")
    assert_401(call(http, token), "algorithm not allowed")
    for alg in ("None", "NONE", ""):
        assert_401(call(http, sign(headers_overrides={"alg": alg}, path=PROBE)))


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize("key", ["ec", "rsa"])
def test_hmac_with_the_public_key_as_secret_is_rejected(
    http: TestClient, signing_keys: dict[str, SigningKey], clock: Any, alg: str, key: str
) -> None:
    """The classic confusion attack: HS* signed with the (public) verification key."""
    signer = signing_keys[key]
    header = {"alg": alg, "typ": "JWT", "kid": signer.kid}
    claims = {"iss": ISSUER, "aud": PROBE_URL, "exp": NOW_TS + 300, "iat": NOW_TS, "jti": "hs"}
    pem = signer.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    for secret in (pem, json.dumps(signer.public_jwk()).encode()):
        signing_input = ".".join(forge(header, claims).split(".")[:2])
        mac = hmac.new(secret, signing_input.encode(), digest).digest()
        assert_401(call(http, f"{signing_input}.{b64url(mac)}"), "algorithm not allowed")


def test_an_algorithm_the_key_does_not_fit_is_rejected(http: TestClient, sign: Sign) -> None:
    # The RSA key's kid under ES384, the EC key under RS384 / PS384 / ES256 / ES512.
    assert_401(call(http, sign(headers_overrides={"kid": RSA_KID}, path=PROBE)), "fit")
    for alg in ("RS384", "PS384", "ES256", "ES512"):
        token = sign(headers_overrides={"alg": alg}, path=PROBE)
        assert_401(call(http, token), "key does not fit the algorithm")
    # The JWK says RS384: a PS384 or RS256 header with that key is refused.
    for alg in ("PS384", "RS256"):
        assert_401(call(http, sign(headers_overrides={"alg": alg}, key="rsa", path=PROBE)))


def test_unknown_kid_and_missing_kid_are_rejected(http: TestClient, sign: Sign) -> None:
    assert_401(call(http, sign(headers_overrides={"kid": "nope"}, path=PROBE)), "unknown kid")
    assert_401(call(http, sign(headers_overrides={"kid": OMIT}, path=PROBE)), "missing kid")
    assert_401(call(http, sign(headers_overrides={"kid": ""}, path=PROBE)), "missing kid")
    assert_401(call(http, sign(headers_overrides={"kid": 7}, path=PROBE)))


def test_a_signature_by_another_key_is_rejected(http: TestClient, sign: Sign) -> None:
    assert_401(call(http, sign(key="rogue", path=PROBE)), "bad signature")


def test_a_tampered_payload_is_rejected(http: TestClient, sign: Sign) -> None:
    header, _payload, signature = sign(path=PROBE).split(".")
    claims = {"iss": ISSUER, "aud": PROBE_URL, "exp": NOW_TS + 9999, "iat": NOW_TS, "jti": "t"}
    assert_401(call(http, f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"))


def test_an_untrusted_issuer_is_rejected(http: TestClient, sign: Sign) -> None:
    for iss in ("https://evil.example", ISSUER + "/", ISSUER.upper(), OMIT, 42):
        assert_401(call(http, sign({"iss": iss}, path=PROBE)), "untrusted issuer")


def test_a_jku_not_in_the_allowlist_is_rejected(
    http: TestClient, sign: Sign, jwks_server: FakeJwksServer
) -> None:
    evil = "https://evil.example/jwks.json"
    jwks_server.publish(evil, {"keys": []})
    cases = [
        ("ec", evil),  # a file-configured issuer takes no jku
        ("ec", PINNED_JKU),  # another issuer's jku
        ("remote", evil),
        ("remote", REMOTE_JWKS_URL + "?x=1"),
        ("remote", REMOTE_JWKS_URL.replace("https:", "http:")),
        ("pinned", REMOTE_JWKS_URL),
    ]
    for key, jku in cases:
        token = sign(headers_overrides={"jku": jku}, key=key, path=PROBE)
        assert_401(call(http, token), "jku not allowed")
    assert evil not in jwks_server.calls


def test_a_token_for_another_endpoint_is_rejected(http: TestClient, sign: Sign) -> None:
    """``aud`` must be this endpoint's exact URL: the discovery URL is not a service's."""
    for aud in (
        BASE_URL + "/cds-services",
        BASE_URL + "/cds-services/b12-order-sign",
        PROBE_URL + "/",
        PROBE_URL + "?x=1",
        "https://testserver" + PROBE,
        [BASE_URL + "/cds-services"],
        [],
        "",
        7,
    ):
        assert_401(call(http, sign({"aud": aud}, path=PROBE)), "aud")
    assert_401(call(http, sign({"aud": OMIT}, path=PROBE)), "missing aud")


def test_expired_and_future_and_stale_tokens_are_rejected(http: TestClient, sign: Sign) -> None:
    assert_401(call(http, sign({"exp": NOW_TS - 61}, path=PROBE)), "token expired")
    assert_401(call(http, sign({"iat": NOW_TS + 120}, path=PROBE)), "iat in the future")
    stale = {"iat": NOW_TS - 2 * 3600, "exp": NOW_TS + 60}
    assert_401(call(http, sign(stale, path=PROBE)), "token too old")
    assert_401(call(http, sign({"nbf": NOW_TS + 600}, path=PROBE)), "not yet valid")


@pytest.mark.parametrize("claim", ["exp", "iat"])
@pytest.mark.parametrize("value", [OMIT, "1800000000", True, None, -5, 1e300, [1]])
def test_exp_and_iat_must_be_numeric_dates(
    http: TestClient, sign: Sign, claim: str, value: Any
) -> None:
    assert_401(call(http, sign({claim: value}, path=PROBE)), claim)


@pytest.mark.parametrize(
    ("value", "reason"),
    [(OMIT, "missing jti"), ("", "missing jti"), (7, "missing jti"), ("j" * 201, "too long")],
)
def test_jti_is_required_and_bounded(http: TestClient, sign: Sign, value: Any, reason: str) -> None:
    assert_401(call(http, sign({"jti": value}, path=PROBE)), reason)


def test_typ_and_crit_headers(http: TestClient, sign: Sign) -> None:
    for typ in (OMIT, "at+jwt", "JWS", 1):
        assert_401(call(http, sign(headers_overrides={"typ": typ}, path=PROBE)), "typ")
    crit = {"crit": ["exp"], "exp": 1}
    assert_401(call(http, sign(headers_overrides=crit, path=PROBE)))
    b64 = {"crit": ["b64"], "b64": False}
    assert_401(call(http, sign(headers_overrides=b64, path=PROBE)))


def test_embedded_keys_are_never_used(
    http: TestClient, signing_keys: dict[str, SigningKey], clock: Any
) -> None:
    """A token carrying its own key (``jwk`` header) and signed by it is still rejected."""
    attacker = ec.generate_private_key(ec.SECP384R1())
    rogue = SigningKey(ISSUER, "attacker", "ES384", attacker)
    header = {"alg": "ES384", "typ": "JWT", "kid": "attacker", "jwk": rogue.public_jwk()}
    claims = {"iss": ISSUER, "aud": PROBE_URL, "exp": NOW_TS + 300, "iat": NOW_TS, "jti": "e"}
    assert_401(call(http, encode(header, claims, rogue)), "unknown kid")


def test_a_replayed_token_is_rejected(http: TestClient, sign: Sign) -> None:
    token = sign(path=PROBE)
    assert call(http, token).status_code == 200
    assert_401(call(http, token), "token replayed")
    # A new token reusing the jti is a replay too; the same jti from another issuer is not.
    first = sign({"jti": "same"}, path=PROBE)
    assert call(http, first).status_code == 200
    assert_401(call(http, sign({"jti": "same"}, key="rsa", path=PROBE)), "replayed")
    assert call(http, sign({"jti": "same"}, key="remote", path=PROBE)).status_code == 200


def test_a_second_app_on_the_same_database_rejects_the_replay(
    app: FastAPI, make_app: Callable[..., FastAPI], sign: Sign
) -> None:
    token = sign(path=PROBE)
    other = make_app()
    with TestClient(app) as first, TestClient(other) as second:
        assert call(first, token).status_code == 200
        assert_401(call(second, token), "token replayed")


@pytest.mark.parametrize(
    "token",
    [
        "abc",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "..",
        "ééé.ééé.ééé",
        b64url(b"not json") + "." + b64url(b"{}") + ".",
        forge({"alg": "ES384", "typ": "JWT", "kid": EC_KID}, ["not", "an", "object"]),
        forge(["header"], {"iss": ISSUER}),
        forge({"alg": "ES384", "typ": "JWT", "kid": EC_KID}, {"iss": ISSUER}) + "!!",
        "x" * 20_000,
    ],
)
def test_malformed_tokens_are_rejected(http: TestClient, token: str) -> None:
    response = http.get(PROBE, headers={b"Authorization": f"Bearer {token}".encode()})
    assert_401(response)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}],
)
def test_missing_or_non_bearer_credentials_are_401(
    http: TestClient, headers: dict[str, str]
) -> None:
    response = http.get(PROBE, headers=headers)
    assert_401(response, "Authorization: Bearer")
    assert "invalid_token" not in response.headers["WWW-Authenticate"]


def test_without_trusted_issuers_every_cds_call_is_401(
    make_app: Callable[..., FastAPI], sign: Sign
) -> None:
    app = make_app(cds_trusted_issuers=None)
    assert app.state.services.trusted_issuers is None
    with TestClient(app) as http:
        assert_401(call(http, sign(path=PROBE)), NOT_CONFIGURED)
        assert_401(http.get(PROBE), NOT_CONFIGURED)


def test_rejections_reach_the_replay_cache_only_when_valid(
    http: TestClient, services: Services, sign: Sign
) -> None:
    """A rejected token does not burn its jti; an accepted one is remembered."""
    token = sign({"jti": "burn"}, {"kid": "nope"}, path=PROBE)
    assert_401(call(http, token))
    assert services.cds_store.remember_jti(ISSUER, "burn", NOW + timedelta(minutes=5), NOW)


# -- direct verification (no app) --------------------------------------------------------------


def test_verify_returns_the_token_facts(
    trusted_issuers_path: Path, jwks_server: FakeJwksServer, sign: Sign
) -> None:
    issuers = TrustedIssuers.load(trusted_issuers_path, fetch=jwks_server)
    token = sign({"tenant": "org-1", "jti": "facts"})
    found = verify(token, audience=BASE_URL + "/cds-services", now=NOW, issuers=issuers)
    assert (found.issuer, found.jti, found.kid, found.tenant) == (ISSUER, "facts", EC_KID, "org-1")
    assert found.iat == datetime.fromtimestamp(NOW_TS, UTC)
    assert found.exp == found.iat + timedelta(seconds=300)
    assert found.remember_until == found.exp + timedelta(seconds=30)
    # The same instant given as an aware datetime gives the same answer.
    aware = NOW.astimezone(UTC)
    token = sign({"jti": "aware"})
    assert verify(token, audience=BASE_URL + "/cds-services", now=aware, issuers=issuers).jti


def test_long_lived_tokens_are_remembered_only_for_the_maximum_age(
    trusted_issuers_path: Path, sign: Sign
) -> None:
    issuers = TrustedIssuers.load(trusted_issuers_path)
    token = sign({"exp": NOW_TS + 30 * 86400})
    found = verify(token, audience=BASE_URL + "/cds-services", now=NOW, issuers=issuers)
    assert found.remember_until == found.iat + timedelta(seconds=3600 + 30)


def test_the_leeway_is_bounded(trusted_issuers_path: Path, sign: Sign) -> None:
    issuers = TrustedIssuers.load(trusted_issuers_path)
    with pytest.raises(ValueError, match="leeway"):
        verify(sign(), audience="x", now=NOW, issuers=issuers, leeway_seconds=3600)


@given(token=st.text(max_size=300) | st.binary(max_size=300).map(b64url))
def test_arbitrary_strings_are_only_ever_rejected(token: str) -> None:
    issuers = TrustedIssuers.from_config({ISSUER: REMOTE_JWKS_URL}, base_dir=Path("."))
    with pytest.raises(TokenRejected):
        verify(token, audience=PROBE_URL, now=NOW, issuers=issuers)


# -- JWK Sets: fetching and caching ------------------------------------------------------------


class Ticker:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def remote_issuers(server: FakeJwksServer, ticker: Ticker) -> TrustedIssuers:
    return TrustedIssuers.from_config(
        {REMOTE_ISSUER: REMOTE_JWKS_URL},
        base_dir=Path("."),
        fetch=server,
        monotonic=ticker,
        ttl_seconds=300,
        min_refresh_seconds=10,
    )


def test_jwks_is_cached_for_the_ttl_and_refetched_after(
    jwks_server: FakeJwksServer, sign: Sign
) -> None:
    ticker = Ticker()
    issuers = remote_issuers(jwks_server, ticker)
    audience = BASE_URL + "/cds-services"
    assert jwks_server.calls == []  # lazy: nothing fetched at load
    verify(sign(key="remote"), audience=audience, now=NOW, issuers=issuers)
    ticker.t += 299
    verify(sign(key="remote"), audience=audience, now=NOW, issuers=issuers)
    assert len(jwks_server.calls) == 1
    ticker.t += 2
    verify(sign(key="remote"), audience=audience, now=NOW, issuers=issuers)
    assert len(jwks_server.calls) == 2


def test_an_unknown_kid_refreshes_once_and_picks_up_a_rotated_key(
    jwks_server: FakeJwksServer, signing_keys: dict[str, SigningKey], sign: Sign
) -> None:
    ticker = Ticker()
    issuers = remote_issuers(jwks_server, ticker)
    audience = BASE_URL + "/cds-services"
    verify(sign(key="remote"), audience=audience, now=NOW, issuers=issuers)
    ticker.t += 11
    # The issuer rotates: a new key appears in its JWK Set.
    new = SigningKey(REMOTE_ISSUER, "remote-ec-2", "ES384", ec.generate_private_key(ec.SECP384R1()))
    jwks_server.publish(REMOTE_JWKS_URL, jwks(signing_keys["remote"], new))
    claims = {"iss": REMOTE_ISSUER, "aud": audience, "exp": NOW_TS + 60, "iat": NOW_TS}
    rotated = encode({"alg": "ES384", "typ": "JWT", "kid": new.kid}, {**claims, "jti": "r"}, new)
    assert verify(rotated, audience=audience, now=NOW, issuers=issuers).kid == "remote-ec-2"
    assert len(jwks_server.calls) == 2
    # Unknown kids cannot make us fetch on every request: at most once per min_refresh_seconds.
    for n in range(5):
        with pytest.raises(TokenRejected, match="unknown kid"):
            verify(
                sign({"jti": f"u{n}"}, {"kid": f"random-{n}"}, key="remote"),
                audience=audience,
                now=NOW,
                issuers=issuers,
            )
    assert len(jwks_server.calls) == 2
    ticker.t += 10
    with pytest.raises(TokenRejected, match="unknown kid"):
        verify(
            sign({}, {"kid": "random"}, key="remote"), audience=audience, now=NOW, issuers=issuers
        )
    assert len(jwks_server.calls) == 3


def test_a_failed_fetch_keeps_the_old_keys_or_rejects_without_any(
    jwks_server: FakeJwksServer, sign: Sign
) -> None:
    ticker = Ticker()
    audience = BASE_URL + "/cds-services"
    jwks_server.failing = True
    issuers = remote_issuers(jwks_server, ticker)
    with pytest.raises(TokenRejected, match="issuer keys unavailable"):
        verify(sign(key="remote"), audience=audience, now=NOW, issuers=issuers)
    with pytest.raises(TokenRejected, match="issuer keys unavailable"):
        verify(sign(key="remote"), audience=audience, now=NOW, issuers=issuers)
    assert len(jwks_server.calls) == 1  # no retry storm
    jwks_server.failing = False
    ticker.t += 10
    verify(sign(key="remote"), audience=audience, now=NOW, issuers=issuers)
    jwks_server.failing = True
    ticker.t += 1000  # TTL over, refresh fails: the previous keys stay in use
    verify(sign(key="remote"), audience=audience, now=NOW, issuers=issuers)
    assert len(jwks_server.calls) == 3


def test_a_fetched_jwks_with_bad_content_is_not_used(
    jwks_server: FakeJwksServer, sign: Sign
) -> None:
    for body in (
        b"not json",
        b"[]",
        b'{"keys": []}',
        b'{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}',
    ):
        jwks_server.documents[REMOTE_JWKS_URL] = body
        issuers = remote_issuers(jwks_server, Ticker())
        with pytest.raises(TokenRejected, match="issuer keys unavailable"):
            verify(sign(key="remote"), audience="x", now=NOW, issuers=issuers)


def test_the_default_fetcher_refuses_http_without_touching_the_network() -> None:
    for url in ("http://ehr.example/jwks.json", "file:///etc/passwd", "https://u:p@h/x", "ftp://h"):
        with pytest.raises(ValueError, match="https"):
            fetch_jwks(url, 1.0)


# -- configuration -----------------------------------------------------------------------------


def write_config(tmp_path: Path, config: Any) -> Path:
    path = tmp_path / "issuers.json"
    path.write_text(config if isinstance(config, str) else json.dumps(config), "utf-8")
    return path


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("not json", "not JSON"),
        ([], "JSON object"),
        ({}, "JSON object"),
        ({ISSUER: "http://ehr.example/jwks.json"}, "never http"),
        ({ISSUER: "ftp://ehr.example/jwks.json"}, "https"),
        ({ISSUER: "missing.json"}, "cannot read"),
        ({ISSUER: 7}, "expected a JWK Set location"),
        ({ISSUER: {"jwks": REMOTE_JWKS_URL, "jku": "https://other/jwks"}}, "jku must equal"),
        ({ISSUER: {"jwks": "k.json", "jku": "http://x/jwks"}}, "jku must be an https URL"),
        ({ISSUER: {"jwks": "k.json", "extra": 1}}, "unknown keys"),
        ({"": REMOTE_JWKS_URL}, "non-empty"),
        ({"i" * 301: REMOTE_JWKS_URL}, "at most"),
    ],
)
def test_bad_trusted_issuer_files_are_input_errors(
    tmp_path: Path, config: Any, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        TrustedIssuers.load(write_config(tmp_path, config))
    assert caught.value.problems[0].field == "B12_CDS_TRUSTED_ISSUERS"
    assert message in caught.value.problems[0].message


def test_missing_trusted_issuers_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        TrustedIssuers.load(tmp_path / "absent.json")


def test_a_jwks_file_with_private_key_material_is_refused(tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP384R1())
    jwk = {**ECAlgorithm.to_jwk(private, as_dict=True), "kid": "k"}
    (tmp_path / "k.json").write_text(json.dumps({"keys": [jwk]}), "utf-8")
    with pytest.raises(InputError, match="private"):
        TrustedIssuers.load(write_config(tmp_path, {ISSUER: "k.json"}))


def test_parse_jwks_keeps_only_usable_public_signing_keys(
    signing_keys: dict[str, SigningKey],
) -> None:
    good = signing_keys["ec"].public_jwk()
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    document = {
        "keys": [
            good,
            {**signing_keys["rsa"].public_jwk(), "kid": "enc", "use": "enc"},
            {**signing_keys["rsa"].public_jwk(), "kid": "ops", "key_ops": ["encrypt"]},
            {**signing_keys["rsa"].public_jwk(), "kid": "hs", "alg": "HS256"},
            {k: v for k, v in signing_keys["rsa"].public_jwk().items() if k != "kid"},
            {**RSAAlgorithm.to_jwk(weak.public_key(), as_dict=True), "kid": "weak"},
            {"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "ed"},
            {"kty": "EC", "crv": "P-384", "x": "bad", "y": "bad", "kid": "broken"},
            "not a key",
        ]
    }
    assert list(parse_jwks(document)) == [EC_KID]
    with pytest.raises(ValueError, match="repeats a kid"):
        parse_jwks({"keys": [good, good]})
    with pytest.raises(ValueError, match="secret"):
        parse_jwks({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]})


def test_create_app_refuses_a_bad_trusted_issuers_file(
    make_app: Callable[..., FastAPI], tmp_path: Path
) -> None:
    with pytest.raises(InputError):
        make_app(cds_trusted_issuers=write_config(tmp_path, {ISSUER: "http://x/jwks"}))


# -- CORS --------------------------------------------------------------------------------------


def preflight(http: TestClient, path: str, origin: str) -> Any:
    return http.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_an_allowed_origin_gets_cors_headers(http: TestClient, cds_headers: Any) -> None:
    response = preflight(http, "/cds-services/b12-order-sign", ALLOWED_ORIGIN)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed_headers = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers
    assert "Access-Control-Allow-Credentials" not in response.headers
    simple = http.get(PROBE, headers={"Origin": ALLOWED_ORIGIN, **cds_headers(PROBE)})
    assert simple.status_code == 200
    assert simple.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Origin" in simple.headers["Vary"]
    # A 401 is readable by the allowed page too.
    refused = http.get(PROBE, headers={"Origin": ALLOWED_ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://ehr-ui.example.test.evil.example",
        "http://ehr-ui.example.test",
        "null",
    ],
)
def test_another_origin_gets_no_cors_headers(
    http: TestClient, cds_headers: Any, origin: str
) -> None:
    response = preflight(http, "/cds-services/b12-order-sign", origin)
    assert response.status_code == 400
    assert "Access-Control-Allow-Origin" not in response.headers
    simple = http.get(PROBE, headers={"Origin": origin, **cds_headers(PROBE)})
    assert "Access-Control-Allow-Origin" not in simple.headers


def test_cors_is_limited_to_cds_paths(http: TestClient) -> None:
    for path in ("/api/plan", "/login", "/cds-servicesX"):
        response = preflight(http, path, ALLOWED_ORIGIN)
        assert "Access-Control-Allow-Origin" not in response.headers
        plain = http.get(path, headers={"Origin": ALLOWED_ORIGIN})
        assert "Access-Control-Allow-Origin" not in plain.headers


def test_without_origins_there_is_no_cors(make_app: Callable[..., FastAPI]) -> None:
    with TestClient(make_app(cds_allowed_origins=())) as http:
        response = preflight(http, "/cds-services", ALLOWED_ORIGIN)
        assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://EHR.example.org", "https://ehr.example.org"),
        ("https://ehr.example.org:443/", "https://ehr.example.org"),
        ("http://localhost:3000", "http://localhost:3000"),
    ],
)
def test_origins_are_normalised(given: str, expected: str) -> None:
    assert checked_origin(given) == expected


@pytest.mark.parametrize(
    "origin", ["*", "null", "https://*.example.org", "https://h/path", "ehr.example", "ftp://h"]
)
def test_wildcards_and_non_origins_are_refused(origin: str) -> None:
    app = FastAPI()
    with pytest.raises(InputError, match="not an origin"):
        install_cors(app, [origin])


# -- logs --------------------------------------------------------------------------------------


def test_tokens_never_reach_the_logs(
    http: TestClient, sign: Sign, caplog: pytest.LogCaptureFixture, jwks_server: FakeJwksServer
) -> None:
    caplog.set_level(logging.DEBUG)
    jwks_server.failing = True
    tokens = [
        sign(path=PROBE),
        sign({"aud": "https://other"}, path=PROBE),
        sign(headers_overrides={"kid": "nope"}, path=PROBE),
        sign(key="rogue", path=PROBE),
        sign(key="remote", path=PROBE),  # the JWK Set fetch fails: a warning is logged
        "garbage.token.value",
    ]
    tokens.append(tokens[0])  # replay
    for token in tokens:
        call(http, token)
        http.get(PROBE, headers={"Origin": ALLOWED_ORIGIN, **bearer(token)})
    logged = "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    assert "/cds-services/_probe" in logged  # the route template is logged
    assert "JWK Set fetch failed" in logged
    for token in tokens:
        for part in token.split("."):
            if len(part) >= 8:
                assert part not in logged
    assert "Bearer" not in logged
    assert "uthorization" not in logged


def test_cds_auth_modules_do_not_log_headers() -> None:
    import b12.adapters.cds.jwt_verify as verifier
    import b12.entrypoints.web.cds_auth as cds_auth

    for module in (cds_auth, verifier):
        source = Path(module.__file__ or "").read_text("utf-8")
        calls = re.findall(r"\blog\.\w+\((.*)", source)
        assert len(calls) <= 1  # jwt_verify: the JWK Set fetch failure (URL and error type)
        for arguments in calls:
            assert "token" not in arguments
            assert "header" not in arguments.lower()
