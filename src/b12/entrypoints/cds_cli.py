"""``b12 cds``: a local development sandbox for trying the CDS Hooks service.

CDS Hooks callers must sign a JWT with a key b12 trusts (``B12_CDS_TRUSTED_ISSUERS``).  To try the
service on one's own machine without an EHR, ``b12 cds sandbox`` makes a development issuer: an
ES384 key pair, its JWK Set and a trusted-issuers file naming it, in the data folder.
``b12 cds token`` signs a short-lived token with that key for ``curl``.

The sandbox is for development only: its issuer is :data:`SANDBOX_ISSUER`, and ``b12 serve``
refuses to start with it trusted unless it listens on a loopback address.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from b12.entrypoints import settings

#: The development issuer's name (never a real EHR's).
SANDBOX_ISSUER = "urn:b12:local-development-sandbox"
KEY_FILE = "sandbox-key.pem"
JWKS_FILE = "sandbox-jwks.json"
ISSUERS_FILE = "trusted-issuers.json"
KID = "b12-local-sandbox-1"
SERVICES = ("b12-patient-view", "b12-order-select", "b12-order-sign")
TOKEN_SECONDS = 300


def sandbox_dir() -> Path:
    """Where the sandbox keys live: ``cds-sandbox`` in the data folder."""
    return settings.data_dir() / "cds-sandbox"


def is_sandbox_config(path: Path | None) -> bool:
    """True when the trusted-issuers file at ``path`` trusts the development sandbox issuer."""
    if path is None:
        return False
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and SANDBOX_ISSUER in document


def is_loopback(host: str) -> bool:
    """True for a loopback listening address (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _make_keys(folder: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_path = folder / KEY_FILE
    key_path.touch(mode=0o600)
    key_path.write_bytes(pem)
    jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": KID, "alg": "ES384", "use": "sig"})
    (folder / JWKS_FILE).write_text(json.dumps({"keys": [jwk]}, indent=2) + "\n", encoding="utf-8")
    (folder / ISSUERS_FILE).write_text(
        json.dumps({SANDBOX_ISSUER: JWKS_FILE}, indent=2) + "\n", encoding="utf-8"
    )


def sign_token(folder: Path, audience: str, *, now: float) -> str:
    """A sandbox token for ``audience`` (the exact service URL), valid for five minutes."""
    import jwt

    pem = (folder / KEY_FILE).read_bytes()
    claims = {
        "iss": SANDBOX_ISSUER,
        "sub": "b12-local-developer",
        "aud": audience,
        "iat": int(now),
        "exp": int(now) + TOKEN_SECONDS,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, pem, algorithm="ES384", headers={"kid": KID, "typ": "JWT"})


def register(app: typer.Typer) -> None:
    """Add ``cds sandbox`` and ``cds token`` to the CLI."""
    cds_app = typer.Typer(
        help="CDS Hooks development sandbox (local use only).", no_args_is_help=True
    )
    app.add_typer(cds_app, name="cds")

    @cds_app.command("sandbox")
    def sandbox(
        renew: Annotated[bool, typer.Option(help="Make a new key pair.")] = False,
    ) -> None:
        """Make (once) a development issuer and print how to serve with it."""
        folder = sandbox_dir()
        if renew or not (folder / KEY_FILE).exists():
            _make_keys(folder)
            typer.echo(f"Made a development issuer in {folder}", err=True)
        typer.echo("Start the server trusting it (loopback only):", err=True)
        typer.echo(f"export B12_CDS_TRUSTED_ISSUERS={folder / ISSUERS_FILE}")

    @cds_app.command("token")
    def token(
        service: Annotated[
            str, typer.Option(help="The CDS service id the token is for.")
        ] = "b12-order-sign",
        base_url: Annotated[
            str, typer.Option("--base-url", help="Where b12 serve listens.")
        ] = "http://127.0.0.1:8000",
    ) -> None:
        """Print a five-minute sandbox token for SERVICE (the only line printed)."""
        folder = sandbox_dir()
        if not (folder / KEY_FILE).exists():
            typer.echo("error: no sandbox issuer yet; run `b12 cds sandbox` first", err=True)
            raise typer.Exit(2)
        if service not in SERVICES:
            typer.echo(
                f"error: --service: unknown service {service!r}; known: {', '.join(SERVICES)}",
                err=True,
            )
            raise typer.Exit(2)
        audience = f"{base_url.rstrip('/')}/cds-services/{service}"
        typer.echo(sign_token(folder, audience, now=time.time()))
