"""``b12.entrypoints.web.asgi:app`` for uvicorn workers or any ASGI server (reads the env).

Logging is set up as ``b12 serve`` sets it up (INFO, one line per request with the route
template) unless the server already configured it: ``b12 serve --workers N`` starts each
worker in a new process, which would otherwise log nothing below WARNING.
"""

from __future__ import annotations

import logging

from b12.entrypoints import settings
from b12.entrypoints.web.app import create_app
from b12.entrypoints.web.services import WebConfig

#: The same as ``b12 serve``'s (``serve_cli.LOG_FORMAT``).
LOG_FORMAT = "%(asctime)s %(name)s %(message)s"
logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)  # no-op if already configured

app = create_app(
    WebConfig(
        database_url=settings.database_url(),
        secure_cookies=settings.secure_cookies(),
        cds_trusted_issuers=settings.cds_trusted_issuers(),
        cds_allowed_origins=settings.cds_allowed_origins(),
        public_base_url=settings.public_base_url(),
        practice_name=settings.practice_name(),
        practice_phone=settings.practice_phone(),
        clinic_days=settings.clinic_days(),
    )
)
