"""``b12.entrypoints.web.asgi:app`` for uvicorn workers or any ASGI server (reads the env)."""

from __future__ import annotations

from b12.entrypoints import settings
from b12.entrypoints.web.app import create_app
from b12.entrypoints.web.services import WebConfig

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
