"""Local user accounts, web sessions, API tokens and login throttling, stored in the database.

The web app keeps no state outside the database: a session, an API token and a login-failure
counter are rows (tables ``users``, ``web_sessions``, ``api_tokens``, ``login_attempts`` from
schema 0002), so several processes or hosts can share one PostgreSQL database.

What is stored, and what never is:

* passwords: only an argon2id hash (``argon2.PasswordHasher`` with its default parameters; a hash
  made with older parameters is replaced at the next successful login);
* session cookies and API tokens: only the SHA-256 of the random token (a database leak gives
  nobody a working credential); the raw value is returned once, to be handed to the client;
* login throttling keys: ``user:`` or ``client:`` plus the SHA-256 of the username (lower case)
  or of the client key (an address), so a password typed into the username box is not stored.

API tokens may be cached in-process (``token_cache_seconds``, the web app uses
:data:`TOKEN_CACHE_SECONDS`, 5 s): a token found valid is trusted for that long without asking
the database again.  Revoking a token or disabling a user through this object forgets the
cached tokens at once; a revocation made by another process (``b12 token revoke``, another
``b12 serve`` worker) takes effect within the bound.  Only valid tokens are cached, at most
:data:`TOKEN_CACHE_SIZE` of them, keyed by their SHA-256.

Nothing here logs.  Times are naive local wall-clock datetimes like the rest of the registry
(an aware ``now`` is converted to local time); they always come from the caller.

Transactions follow ``registry.py``: each write is one transaction that takes SQLite's write
lock at ``BEGIN IMMEDIATE`` (set up by ``make_engine``); driver errors other than integrity
errors become ``RegistryUnavailable``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from b12.adapters.sql.tables import api_tokens, login_attempts, users, web_sessions
from b12.adapters.sql.transactions import EngineStore
from b12.core.errors import B12Error, FieldProblem, InputError, NotFound

ROLES = ("clinician", "nurse", "reviewer", "safety_officer", "admin")
USERNAME = re.compile(r"[A-Za-z0-9._-]{3,64}")
USERNAME_RULE = "expected 3 to 64 letters, digits, '.', '_' or '-'"
TOKEN_PREFIX = "b12_"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
MAX_LABEL_LENGTH = 200
#: How long the web app trusts an API token it found valid (revocation elsewhere: this late).
TOKEN_CACHE_SECONDS = 5.0
TOKEN_CACHE_SIZE = 1024
_clock = time.monotonic  # seconds, for the caches (tests replace it)
# Raw tokens are ``secrets.token_urlsafe(32)`` (43 characters); anything not shaped like one is
# refused before it reaches the database.
_TOKEN_BODY = re.compile(r"[A-Za-z0-9_-]{20,200}")
_PASSWORD_CLASSES = (
    ("lower-case letters", str.islower),
    ("upper-case letters", str.isupper),
    ("digits", str.isdigit),
)
_EDGES = string.digits + string.punctuation + string.whitespace


class TooManyAttempts(B12Error):
    """Too many failed logins for this username or client; try again after the window."""

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(f"too many failed logins; try again in {retry_after_seconds} seconds")


@dataclass(frozen=True)
class User:
    """A local account (the password hash never leaves this module)."""

    id: int
    username: str
    role: str


@dataclass(frozen=True)
class Session:
    """A logged-in web session; ``csrf_token`` must accompany every form post."""

    user: User
    csrf_token: str
    expires_at: datetime


# -- password policy ---------------------------------------------------------------------------


@cache
def common_passwords() -> frozenset[str]:
    """The refused common passwords (``common_passwords.txt``), lower case."""
    text = (resources.files("b12.adapters.sql") / "common_passwords.txt").read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line.casefold() for line in lines if line and not line.startswith("#"))


def password_problems(password: str, username: str) -> list[str]:
    """Why ``password`` is too weak for ``username``; an empty list means it is acceptable.

    The policy, kept short on purpose:

    1. 12 to 1024 characters;
    2. does not contain the username (ignoring case);
    3. not all of one kind: at least two of lower-case letters, upper-case letters, digits and
       other characters (spaces and punctuation);
    4. not one of the 100 most common passwords (``common_passwords.txt``), ignoring case, also
       after removing leading and trailing digits, punctuation and spaces
       (``Password123!`` is ``password``).
    """
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"must be at most {MAX_PASSWORD_LENGTH} characters")
    if username and username.casefold() in password.casefold():
        problems.append("must not contain the username")
    kinds = {name for name, test in _PASSWORD_CLASSES for ch in password if test(ch)}
    if any(not (ch.islower() or ch.isupper() or ch.isdigit()) for ch in password):
        kinds.add("other")
    if password and len(kinds) < 2:
        problems.append(
            "must mix at least two kinds of character "
            "(lower-case, upper-case, digits, spaces or punctuation)"
        )
    common = common_passwords()
    if password.casefold() in common or password.strip(_EDGES).casefold() in common:
        problems.append("is one of the most common passwords")
    if not _encodable(password):
        problems.append("contains characters that cannot be stored")
    return problems


def new_user_problems(username: str, role: str) -> list[FieldProblem]:
    """Problems with a new account's username and role (not the password, not duplicates)."""
    problems = []
    if not USERNAME.fullmatch(username):
        problems.append(FieldProblem("username", USERNAME_RULE))
    if role not in ROLES:
        problems.append(FieldProblem("role", f"expected one of {', '.join(ROLES)}"))
    return problems


def csrf_matches(session: Session, supplied: str | None) -> bool:
    """Whether a posted CSRF token is the session's (constant-time comparison)."""
    if not supplied or not _encodable(supplied):
        return False
    return hmac.compare_digest(session.csrf_token.encode(), supplied.encode())


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _token_hash(token: object, *, prefix: str = "") -> str | None:
    """SHA-256 of a well-formed raw token, or None for anything that cannot be one."""
    if not isinstance(token, str) or not token.startswith(prefix):
        return None
    if not _TOKEN_BODY.fullmatch(token[len(prefix) :]):
        return None
    return _digest(token)


def _naive(now: datetime) -> datetime:
    return now.astimezone().replace(tzinfo=None) if now.tzinfo is not None else now


# -- accounts ----------------------------------------------------------------------------------


class Accounts(EngineStore):
    """Users, sessions, API tokens and login throttling on the registry's database."""

    def __init__(
        self,
        engine: Engine,
        *,
        session_hours: int = 12,
        max_failures: int = 5,
        window_minutes: int = 15,
        hasher: PasswordHasher | None = None,
        token_cache_seconds: float = 0.0,
    ) -> None:
        if session_hours < 1 or max_failures < 1 or window_minutes < 1:
            raise ValueError("session_hours, max_failures and window_minutes must be 1 or more")
        self.engine = engine
        self.session_length = timedelta(hours=session_hours)
        self.max_failures = max_failures
        self.window = timedelta(minutes=window_minutes)
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None
        self.token_cache_seconds = token_cache_seconds
        self._tokens: dict[str, tuple[User, float]] = {}  # token hash -> (user, valid until)
        self._tokens_lock = threading.Lock()
        self._forgotten_at = -math.inf

    # -- transactions ---------------------------------------------------------------------------

    # -- users ----------------------------------------------------------------------------------

    def add_user(self, username: str, password: str, role: str, *, now: datetime) -> User:
        """Create an account; every problem (username, role, password) is reported at once."""
        problems = new_user_problems(username, role)
        problems += [FieldProblem("password", m) for m in password_problems(password, username)]
        if not any(p.field == "username" for p in problems) and self._taken(username):
            problems.insert(0, FieldProblem("username", f"{username!r} is already taken"))
        if problems:
            raise InputError(problems)
        password_hash = self.hasher.hash(password)
        try:
            with self._write() as conn:
                user_id = conn.execute(
                    insert(users).values(
                        username=username,
                        password_hash=password_hash,
                        role=role,
                        disabled=0,
                        created_at=_naive(now),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
        except IntegrityError:
            raise InputError([FieldProblem("username", f"{username!r} is already taken")]) from None
        return User(int(user_id), username, role)

    def _taken(self, username: str) -> bool:
        """Usernames are unique ignoring case ("Alice" and "alice" would be confusing)."""
        query = select(users.c.id).where(func.lower(users.c.username) == username.lower())
        with self._read() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def get_user(self, username: str) -> User | None:
        """The account named exactly ``username`` (disabled ones included), or None."""
        if not isinstance(username, str) or not USERNAME.fullmatch(username):
            return None
        with self._read() as conn:
            row = conn.execute(
                select(users.c.id, users.c.username, users.c.role).where(
                    users.c.username == username
                )
            ).first()
        return User(row.id, row.username, row.role) if row else None

    def list_users(self) -> list[User]:
        """Every account, by username."""
        query = select(users.c.id, users.c.username, users.c.role).order_by(users.c.username)
        with self._read() as conn:
            return [User(r.id, r.username, r.role) for r in conn.execute(query)]

    def set_disabled(self, username: str, disabled: bool) -> bool:
        """Disable (or re-enable) an account; disabling also ends its sessions.

        Returns False when there is no such user.  A disabled user cannot log in and their API
        tokens stop working (they are not revoked, so re-enabling restores them).
        """
        user = self.get_user(username)
        if user is None:
            return False
        with self._write() as conn:
            conn.execute(update(users).where(users.c.id == user.id).values(disabled=int(disabled)))
            if disabled:
                conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user.id))
        self._forget_tokens()
        return True

    def set_password(self, username: str, password: str) -> bool:
        """Give an account a new password (a lost admin password, say); its sessions end.

        Returns False when there is no such user; a weak password is an :class:`InputError`.
        API tokens keep working (revoke them with ``b12 token revoke`` if they leaked too).
        """
        user = self.get_user(username)
        if user is None:
            return False
        problems = password_problems(password, username)
        if problems:
            raise InputError([FieldProblem("password", m) for m in problems])
        password_hash = self.hasher.hash(password)
        with self._write() as conn:
            conn.execute(
                update(users).where(users.c.id == user.id).values(password_hash=password_hash)
            )
            conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user.id))
        return True

    # -- login ----------------------------------------------------------------------------------

    def authenticate(
        self, username: str, password: str, *, client: str, now: datetime
    ) -> User | None:
        """The user if the password is right, else None.

        Raises ``TooManyAttempts`` (before checking the password) when the username or the
        client has ``max_failures`` failures within the window.  An unknown user costs the same
        argon2 verification as a known one.  A failure counts against both keys; a success
        clears the username's counter (not the client's).
        """
        now = _naive(now)
        keys = (_user_key(username), _client_key(client))
        self._check_throttle(keys, now)
        row = self._credentials(username)
        stored = row["password_hash"] if row else self._dummy_hash()
        ok = self._verify(stored, password)
        if row is None or not ok or row["disabled"]:
            self._record_failure(keys, now)
            return None
        rehash = self.hasher.hash(password) if self._needs_rehash(row["password_hash"]) else None
        with self._write() as conn:
            conn.execute(delete(login_attempts).where(login_attempts.c.key == keys[0]))
            if rehash is not None:
                conn.execute(
                    update(users).where(users.c.id == row["id"]).values(password_hash=rehash)
                )
        return User(row["id"], row["username"], row["role"])

    def _credentials(self, username: str) -> dict[str, Any] | None:
        if not isinstance(username, str) or not USERNAME.fullmatch(username):
            return None
        with self._read() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).mappings().first()
        return dict(row) if row else None

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    def _verify(self, stored: str, password: str) -> bool:
        if not isinstance(password, str) or not _encodable(password):
            return False
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def _needs_rehash(self, stored: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return True

    def failures(self, key: str, *, now: datetime) -> int:
        """Failures counted for a raw key (``user:NAME`` or ``client:ADDR``) in the window."""
        kind, _, value = key.partition(":")
        hashed = _user_key(value) if kind == "user" else _client_key(value)
        with self._read() as conn:
            row = conn.execute(
                select(login_attempts.c.failures).where(
                    login_attempts.c.key == hashed,
                    login_attempts.c.window_start > _naive(now) - self.window,
                )
            ).first()
        return int(row.failures) if row else 0

    def _check_throttle(self, keys: tuple[str, str], now: datetime) -> None:
        with self._read() as conn:
            rows = conn.execute(
                select(login_attempts.c.window_start).where(
                    login_attempts.c.key.in_(keys),
                    login_attempts.c.window_start > now - self.window,
                    login_attempts.c.failures >= self.max_failures,
                )
            ).all()
        if rows:
            until = max(r.window_start for r in rows) + self.window
            raise TooManyAttempts(max(1, math.ceil((until - now).total_seconds())))

    def _record_failure(self, keys: tuple[str, str], now: datetime) -> None:
        """Count one failure against each key, race-safely.

        Per key: add one to a counter whose window is current; else restart a stale window at
        one; else insert a new row.  Every step is conditional, so concurrent processes never
        lose a count: a lost race on the insert (unique key) or on the restart (another process
        restarted it first, so the condition no longer holds) goes round again.
        """
        cutoff = now - self.window
        table = login_attempts
        with self._write() as conn:
            for key in keys:
                for _ in range(5):
                    bumped = conn.execute(
                        update(table)
                        .where(table.c.key == key, table.c.window_start > cutoff)
                        .values(failures=table.c.failures + 1)
                    )
                    if bumped.rowcount:
                        break
                    restarted = conn.execute(
                        update(table)
                        .where(table.c.key == key, table.c.window_start <= cutoff)
                        .values(window_start=now, failures=1)
                    )
                    if restarted.rowcount:
                        break
                    try:
                        with conn.begin_nested():
                            conn.execute(
                                insert(table).values(key=key, window_start=now, failures=1)
                            )
                        break
                    except IntegrityError:
                        continue

    # -- sessions -------------------------------------------------------------------------------

    def create_session(self, user: User, *, now: datetime) -> tuple[str, Session]:
        """A new session: the raw cookie token (give it to the browser) and the session."""
        now = _naive(now)
        token = secrets.token_urlsafe(32)
        session = Session(user, secrets.token_urlsafe(32), now + self.session_length)
        try:
            with self._write() as conn:
                conn.execute(
                    insert(web_sessions).values(
                        token_hash=_digest(token),
                        user_id=user.id,
                        csrf_token=session.csrf_token,
                        created_at=now,
                        expires_at=session.expires_at,
                    )
                )
        except IntegrityError:
            raise NotFound(f"no user {user.username!r}") from None
        return token, session

    def session(self, token: str, *, now: datetime) -> Session | None:
        """The live session for a cookie token; None when unknown, expired or user disabled."""
        token_hash = _token_hash(token)
        if token_hash is None:
            return None
        query = (
            select(
                users.c.id,
                users.c.username,
                users.c.role,
                web_sessions.c.csrf_token,
                web_sessions.c.expires_at,
            )
            .join(users, users.c.id == web_sessions.c.user_id)
            .where(
                web_sessions.c.token_hash == token_hash,
                web_sessions.c.expires_at > _naive(now),
                users.c.disabled == 0,
            )
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return Session(User(row.id, row.username, row.role), row.csrf_token, row.expires_at)

    def end_session(self, token: str) -> None:
        """Log out: forget the session (unknown tokens are ignored)."""
        token_hash = _token_hash(token)
        if token_hash is None:
            return
        with self._write() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == token_hash))

    def purge_expired(self, *, now: datetime) -> int:
        """Delete expired sessions and login counters whose window has passed.

        Returns the number of sessions deleted.
        """
        now = _naive(now)
        with self._write() as conn:
            gone = conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
            conn.execute(
                delete(login_attempts).where(login_attempts.c.window_start <= now - self.window)
            )
        return int(gone.rowcount)

    # -- API tokens -----------------------------------------------------------------------------

    def create_token(self, username: str, *, label: str | None, now: datetime) -> str:
        """A new API token for ``username`` (``b12_…``); only its SHA-256 is stored."""
        problems = []
        if not isinstance(username, str) or not USERNAME.fullmatch(username):
            problems.append(FieldProblem("user", USERNAME_RULE))
        if label is not None and (
            len(label) > MAX_LABEL_LENGTH or not label.isprintable() or not _encodable(label)
        ):
            problems.append(
                FieldProblem("label", f"expected at most {MAX_LABEL_LENGTH} printable characters")
            )
        if problems:
            raise InputError(problems)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._write() as conn:
            row = conn.execute(
                select(users.c.id, users.c.disabled).where(users.c.username == username)
            ).first()
            if row is None:
                raise NotFound(f"no user {username!r}")
            if row.disabled:
                raise InputError([FieldProblem("user", f"{username!r} is disabled")])
            conn.execute(
                insert(api_tokens).values(
                    token_hash=_digest(token),
                    user_id=row.id,
                    label=label,
                    created_at=_naive(now),
                )
            )
        return token

    def user_for_token(self, token: str, *, now: datetime) -> User | None:
        """The user an API token belongs to; None when unknown, revoked or user disabled."""
        del now  # tokens do not expire; kept so a future expiry needs no signature change
        token_hash = _token_hash(token, prefix=TOKEN_PREFIX)
        if token_hash is None:
            return None
        cached = self._tokens.get(token_hash)
        if cached is not None and _clock() < cached[1]:
            return cached[0]
        started = _clock()
        query = (
            select(users.c.id, users.c.username, users.c.role)
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(
                api_tokens.c.token_hash == token_hash,
                api_tokens.c.revoked_at.is_(None),
                users.c.disabled == 0,
            )
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        user = User(row.id, row.username, row.role)
        if self.token_cache_seconds > 0:
            self._remember_token(token_hash, user, started + self.token_cache_seconds)
        return user

    def cached_user_for_token(self, token: str) -> User | None:
        """The user of an API token found valid within the cache bound, without touching the
        database; None when the token is not in the cache (ask :meth:`user_for_token`)."""
        token_hash = _token_hash(token, prefix=TOKEN_PREFIX)
        if token_hash is None:
            return None
        cached = self._tokens.get(token_hash)
        if cached is not None and _clock() < cached[1]:
            return cached[0]
        return None

    def _remember_token(self, token_hash: str, user: User, until: float) -> None:
        with self._tokens_lock:
            if self._forgotten_at > until - self.token_cache_seconds:
                return  # a revocation or disabling happened while this token was being read
            while len(self._tokens) >= TOKEN_CACHE_SIZE:
                self._tokens.pop(next(iter(self._tokens)))
            self._tokens[token_hash] = (user, until)

    def _forget_tokens(self) -> None:
        with self._tokens_lock:
            self._tokens.clear()
            self._forgotten_at = _clock()

    def revoke_token(self, token: str, *, now: datetime) -> bool:
        """Revoke an API token; False when it is unknown or already revoked."""
        token_hash = _token_hash(token, prefix=TOKEN_PREFIX)
        if token_hash is None:
            return False
        with self._write() as conn:
            done = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=_naive(now))
            )
        self._forget_tokens()
        return bool(done.rowcount)


def _user_key(username: object) -> str:
    text = username if isinstance(username, str) else repr(username)
    return "user:" + hashlib.sha256(text.casefold().encode("utf-8", "surrogatepass")).hexdigest()


def _client_key(client: object) -> str:
    text = client if isinstance(client, str) else repr(client)
    return "client:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
