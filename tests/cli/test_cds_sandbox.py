"""``b12 cds sandbox`` / ``b12 cds token``: a local development issuer that the real verifier
accepts, refused by ``b12 serve`` on a non-loopback address."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from b12.adapters.cds.jwt_verify import TokenRejected, TrustedIssuers, verify
from b12.entrypoints import cli
from b12.entrypoints.cds_cli import SANDBOX_ISSUER, is_loopback


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    return tmp_path / "b12" / "cds-sandbox"


def test_sandbox_token_verifies_with_the_real_verifier(data_home: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(cli.app, ["cds", "sandbox"])
    assert made.exit_code == 0, made.output
    issuers_file = data_home / "trusted-issuers.json"
    assert f"export B12_CDS_TRUSTED_ISSUERS={issuers_file}" in made.stdout
    assert stat.S_IMODE((data_home / "sandbox-key.pem").stat().st_mode) == 0o600
    assert json.loads(issuers_file.read_text()) == {SANDBOX_ISSUER: "sandbox-jwks.json"}

    url = "http://127.0.0.1:8000/cds-services/b12-order-sign"
    got = runner.invoke(cli.app, ["cds", "token", "--service", "b12-order-sign"])
    assert got.exit_code == 0, got.output
    token = got.stdout.strip()
    assert "\n" not in token  # TOKEN=$(b12 cds token) takes the whole output
    issuers = TrustedIssuers.load(issuers_file)
    verified = verify(token, audience=url, now=datetime.now(UTC), issuers=issuers)
    assert verified.issuer == SANDBOX_ISSUER
    with pytest.raises(TokenRejected):  # the audience is the exact service URL
        verify(
            token,
            audience="http://127.0.0.1:8000/cds-services/b12-patient-view",
            now=datetime.now(UTC),
            issuers=issuers,
        )


def test_sandbox_is_made_once_and_token_needs_it(data_home: Path) -> None:
    runner = CliRunner()
    none_yet = runner.invoke(cli.app, ["cds", "token"])
    assert none_yet.exit_code == 2
    assert "b12 cds sandbox" in none_yet.output
    runner.invoke(cli.app, ["cds", "sandbox"])
    key = (data_home / "sandbox-key.pem").read_bytes()
    runner.invoke(cli.app, ["cds", "sandbox"])
    assert (data_home / "sandbox-key.pem").read_bytes() == key
    bad = runner.invoke(cli.app, ["cds", "token", "--service", "nope"])
    assert bad.exit_code == 2
    assert "--service" in bad.output


def test_serve_refuses_the_sandbox_issuer_off_loopback(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    runner.invoke(cli.app, ["cds", "sandbox"])
    monkeypatch.setenv("B12_CDS_TRUSTED_ISSUERS", str(data_home / "trusted-issuers.json"))
    monkeypatch.setenv("B12_DATABASE_URL", f"sqlite:///{data_home / 'x.sqlite3'}")
    refused = runner.invoke(cli.app, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert refused.exit_code == 2
    assert "local use only" in refused.output


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.0.2.1", False),
        ("example.org", False),
        ("::", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
