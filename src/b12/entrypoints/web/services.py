"""What every request needs: the registry, accounts, the review log and the knowledge base.

The app keeps no state of its own outside the database: sessions, rate-limit counters and
review decisions are rows, so several ``b12 serve`` processes can share one PostgreSQL.  The
in-process memory is caches with a documented staleness bound (docs/deployment.md): the
knowledge base keyed by the newest review row (that id re-read at most every second), API
tokens found valid (5 s), and the CDS Hooks token ids this process has seen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from b12.adapters.cds.jwt_verify import TrustedIssuers
from b12.adapters.knowledge_files import default_knowledge_dir, read_raw
from b12.adapters.sql.accounts import TOKEN_CACHE_SECONDS, Accounts
from b12.adapters.sql.cds_store import CdsStore
from b12.adapters.sql.content_review import REVIEW_CHECK_SECONDS, ContentReviews
from b12.adapters.sql.registry import Registry
from b12.adapters.vignettes import Vignette, load_vignettes
from b12.core.kb_build import build_knowledge_base
from b12.core.knowledge import KnowledgeBase


def local_now() -> datetime:
    """Wall-clock time as a naive local datetime (what the registry records)."""
    return datetime.now()  # noqa: DTZ005 - the registry stores local clinic time


@dataclass(frozen=True)
class WebConfig:
    """How to run the app; built by ``b12 serve`` from the environment, or by tests."""

    database_url: str
    knowledge_dir: Path | None = None
    secure_cookies: bool = False
    session_hours: int = 12
    clock: Callable[[], datetime] = field(default=local_now)
    #: CDS Hooks: trusted JWT issuers file (None: every CDS call is 401), CORS origins, and the
    #: external base URL used for the ``aud`` check (None: the request's own URL).
    cds_trusted_issuers: Path | None = None
    cds_allowed_origins: tuple[str, ...] = ()
    public_base_url: str | None = None
    #: The patient's printout: the practice's name and telephone, and the weekdays injections
    #: are given on (None: the knowledge base's ``patient_printout.open_days``).
    practice_name: str | None = None
    practice_phone: str | None = None
    clinic_days: tuple[str, ...] | None = None
    #: Golden vignettes for the review pages' impact preview (None: B12_VIGNETTES_DIR, or this
    #: checkout's tests/vignettes/cases when present).
    vignettes_dir: Path | None = None


class Services:
    """Long-lived objects shared by every request (thread-safe; no per-user state)."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self.raw = read_raw(config.knowledge_dir or default_knowledge_dir())
        base = build_knowledge_base(self.raw)
        self.registry = Registry(config.database_url, base)
        self.registry.upgrade()
        self.accounts = Accounts(
            self.registry.engine,
            session_hours=config.session_hours,
            token_cache_seconds=TOKEN_CACHE_SECONDS,
        )
        self.reviews = ContentReviews(self.registry.engine, self.raw)
        self.cds_store = CdsStore(self.registry.engine)
        self._vignettes: tuple[Path | None, list[Vignette]] | None = None
        self._vignette_lock = threading.Lock()
        self.trusted_issuers: TrustedIssuers | None = (
            TrustedIssuers.load(config.cds_trusted_issuers) if config.cds_trusted_issuers else None
        )

    def vignettes(self) -> tuple[Path | None, list[Vignette]]:
        """The golden vignettes for the impact preview, read once per process (folder, cases)."""
        with self._vignette_lock:
            if self._vignettes is None:
                from b12.entrypoints.settings import vignettes_dir

                folder = self.config.vignettes_dir or vignettes_dir()
                cases = load_vignettes(folder) if folder is not None and folder.is_dir() else []
                self._vignettes = (folder, cases)
            return self._vignettes

    def now(self) -> datetime:
        """The current time from the configured clock."""
        return self.config.clock()

    def today(self) -> date:
        """The clinic's calendar date."""
        return self.now().date()

    def kb(self) -> KnowledgeBase:
        """The knowledge base with the review decisions stored in the database applied.

        Decisions made by another process are seen within ``REVIEW_CHECK_SECONDS`` (1 s).
        """
        return self.reviews.knowledge_base(max_age=REVIEW_CHECK_SECONDS)

    def registry_for(self, kb: KnowledgeBase) -> Registry:
        """The registry bound to ``kb`` (the engine and its pool are shared)."""
        return self.registry.with_knowledge_base(kb)
