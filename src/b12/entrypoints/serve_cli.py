"""``b12 serve``: the web app, JSON API (and CDS Hooks) under uvicorn."""

from __future__ import annotations

import logging
import os
from typing import Annotated, Any

import typer

from b12.core.errors import InputError, KnowledgeBaseError
from b12.entrypoints import settings
from b12.entrypoints.cds_cli import is_loopback, is_sandbox_config

#: Log lines of ``b12 serve`` and its worker processes (``web/asgi.py`` uses the same).
LOG_FORMAT = "%(asctime)s %(name)s %(message)s"


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the CLI."""

    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
        workers: Annotated[
            int | None,
            typer.Option(
                help="Worker processes (default: one per CPU core available; state lives in "
                "the database).",
                min=1,
            ),
        ] = None,
    ) -> None:
        """Serve the web app and API on B12_DATABASE_URL (default: SQLite in the data folder)."""
        import uvicorn

        from b12.adapters.sql.transactions import RegistryUnavailable
        from b12.entrypoints.web.app import create_app
        from b12.entrypoints.web.nodelay import (
            NoDelayHTTPProtocol,
            WorkerListener,
            reuseport_supported,
        )
        from b12.entrypoints.web.services import WebConfig

        workers = workers or default_workers()

        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
        try:
            clinic_days = settings.clinic_days()
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        config = WebConfig(
            database_url=settings.database_url(),
            secure_cookies=settings.secure_cookies(),
            cds_trusted_issuers=settings.cds_trusted_issuers(),
            cds_allowed_origins=settings.cds_allowed_origins(),
            public_base_url=settings.public_base_url(),
            practice_name=settings.practice_name(),
            practice_phone=settings.practice_phone(),
            clinic_days=clinic_days,
        )
        if is_sandbox_config(config.cds_trusted_issuers) and not is_loopback(host):
            typer.echo(
                "error: B12_CDS_TRUSTED_ISSUERS trusts the development sandbox issuer, which is "
                "for local use only: serve on a loopback address (127.0.0.1) or remove it",
                err=True,
            )
            raise typer.Exit(2)
        if config.cds_trusted_issuers and not config.public_base_url:
            typer.echo(
                "warning: B12_PUBLIC_BASE_URL is not set, so CDS Hooks tokens are checked "
                "against the URL the request names (its Host header); set it in production",
                err=True,
            )
        try:
            application = create_app(config)
        except InputError as err:
            for problem in err.problems:
                typer.echo(f"error: {problem.render()}", err=True)
            raise typer.Exit(2) from None
        except (KnowledgeBaseError, RegistryUnavailable) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None
        typer.echo(
            f"b12 serving on http://{host}:{port} with {workers} worker process(es) "
            f"(database {_safe(config.database_url)})"
        )
        common: dict[str, Any] = {
            "host": host,
            "port": port,
            "access_log": False,
            "log_level": "info",
            "http": NoDelayHTTPProtocol,
        }
        if workers == 1:
            uvicorn.run(application, **common)
        elif not reuseport_supported():
            uvicorn.run("b12.entrypoints.web.asgi:app", workers=workers, **common)
        else:  # uvicorn's supervisor, each worker with its own listening socket
            from uvicorn.supervisors import Multiprocess

            uv_config = uvicorn.Config("b12.entrypoints.web.asgi:app", workers=workers, **common)
            listener = WorkerListener(host, port, uv_config.backlog)
            Multiprocess(uv_config, sockets=[listener]).run()


def default_workers() -> int:
    """One worker process per CPU core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _safe(url: str) -> str:
    """The URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # only for display
        return "(unparsable URL)"
