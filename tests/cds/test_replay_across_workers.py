"""Replay protection across processes, end to end: the real ``b12 serve --workers 2``.

One token sent at once over many connections (the kernel hands them to either worker) is
accepted exactly once; distinct tokens sent the same way are each accepted.  The token is
checked on the event loop (the issuer's keys are a file) and the replay cache's inserts are
batched per process, so this is the path a loaded server takes.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.cds.conftest import BACKENDS, EC_KID, ISSUER, SigningKey, encode, jwks
from tests.live_server import LiveServer

CONNECTIONS = 24


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def server(
    tmp_path: Path, web_db_url: str, signing_keys: dict[str, SigningKey]
) -> Iterator[LiveServer]:
    (tmp_path / "ehr-jwks.json").write_text(json.dumps(jwks(signing_keys["ec"])), "utf-8")
    trust = tmp_path / "trusted-issuers.json"
    trust.write_text(json.dumps({ISSUER: "ehr-jwks.json"}), "utf-8")
    live = LiveServer(web_db_url, workers=2, extra_env={"B12_CDS_TRUSTED_ISSUERS": str(trust)})
    live.start(log_path=tmp_path / "serve.log", timeout=90)
    try:
        yield live
    finally:
        live.stop()


def _token(key: SigningKey, audience: str) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": audience,
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(16),
    }
    return encode({"alg": "ES384", "typ": "JWT", "kid": EC_KID}, claims, key)


def _discovery(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


def _at_once(url: str, tokens: list[str]) -> list[int]:
    with ThreadPoolExecutor(len(tokens)) as pool:
        return list(pool.map(lambda t: _discovery(url, t), tokens))


def test_one_token_at_once_on_many_connections_to_two_workers_is_accepted_once(
    server: LiveServer, signing_keys: dict[str, SigningKey]
) -> None:
    url = server.url + "/cds-services"
    token = _token(signing_keys["ec"], url)
    statuses = _at_once(url, [token] * CONNECTIONS)
    assert sorted(statuses) == [200] + [401] * (CONNECTIONS - 1)
    assert _discovery(url, token) == 401  # and later, on either worker


def test_distinct_tokens_at_once_are_each_accepted(
    server: LiveServer, signing_keys: dict[str, SigningKey]
) -> None:
    url = server.url + "/cds-services"
    tokens = [_token(signing_keys["ec"], url) for _ in range(CONNECTIONS)]
    assert _at_once(url, tokens) == [200] * CONNECTIONS
    assert _at_once(url, tokens[:4]) == [401] * 4
