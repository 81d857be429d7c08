"""Strict, fast YAML reading with a parse cache keyed by the exact bytes read.

Parsing is ruamel.yaml's safe loader (YAML 1.2) with its C scanner/parser when the compiled
``ruamel.yaml.clib`` is installed (6-7x faster than the pure-Python one; same results, checked by
``tests/adapters/test_yaml_files.py``), and duplicate keys are rejected either way.

A set of files (the knowledge base, the vignette folder) is parsed as a *bundle*.  The parsed
documents of a bundle are cached in the user's cache folder (:func:`default_cache_dir`, e.g.
``~/.cache/b12/content``; ``B12_CACHE_DIR`` names another, ``B12_NO_CACHE=1`` turns caching
off) under a key that is the SHA-256 of this module's format version, the parser's identity
(ruamel.yaml's version file and its C extension, :func:`parser_version`) and every file's
relative path and bytes.  So:

* the cache is never stale: any byte changed, file added, removed or renamed is a new key;
* only a successful strict parse is cached, so a file with a duplicate key or a syntax error is
  re-read (and rejected) every time;
* the cache holds parsed YAML only (dicts, lists, strings, numbers, dates), never a validated
  object: callers validate what they read on every run;
* it is read with an unpickler that can build nothing but builtin containers and ``datetime``
  values, so a tampered cache file cannot run code; an unreadable, corrupt or foreign cache file
  is ignored and the YAML is parsed again;
* an unwritable cache folder is not an error: the files are parsed and nothing is stored.

The same folder holds the compiled knowledge base (:mod:`b12.adapters.knowledge_files`), written
and read through :func:`write_entry` and :func:`read_private` (atomic rename, owner-only trust).
ruamel.yaml is imported only when something is parsed, so a run served from caches never
imports it.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import importlib.util
import io
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ruamel.yaml import YAML

#: Bump when what a parse produces changes (loader options, post-processing).
FORMAT_VERSION = "1"
#: Cache files kept per bundle label (several checkouts or content versions side by side).
KEEP_PER_LABEL = 8

_ALLOWED_GLOBALS = {
    ("datetime", "date"): _dt.date,
    ("datetime", "datetime"): _dt.datetime,
    ("datetime", "timedelta"): _dt.timedelta,
    ("datetime", "timezone"): _dt.timezone,
}


def strict_yaml() -> YAML:
    """A YAML 1.2 safe loader that rejects duplicate keys (C-accelerated when available)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    yaml.allow_duplicate_keys = False
    return yaml


#: Environment: a folder for the caches instead of the user cache folder; caching off.
CACHE_DIR_ENV = "B12_CACHE_DIR"
NO_CACHE_ENV = "B12_NO_CACHE"


def default_cache_dir() -> Path | None:
    """Where parsed bundles (and the compiled knowledge base) are cached; ``None``: no cache.

    ``B12_NO_CACHE`` set to anything but ``""``/``0`` turns caching off; ``B12_CACHE_DIR``
    names the folder; otherwise ``<user cache folder>/b12/content`` (``platformdirs``).
    """
    if os.environ.get(NO_CACHE_ENV, "").strip() not in ("", "0"):
        return None
    chosen = os.environ.get(CACHE_DIR_ENV, "").strip()
    if chosen:
        return Path(chosen)
    if sys.platform.startswith("linux"):  # platformdirs' rule, without importing it (start-up)
        base = os.environ.get("XDG_CACHE_HOME", "")
        return Path(base if base.strip() else os.path.expanduser("~/.cache")) / "b12" / "content"
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("b12", appauthor=False)) / "content"
    except Exception:  # pragma: no cover - platformdirs failing to name a folder
        return None


@dataclass(frozen=True)
class ParseFailure:
    """A file that could not be read: its relative path and why."""

    path: str
    message: str


@dataclass(frozen=True)
class Bundle:
    """The parsed documents of a set of files, by relative path, and the bytes' digest."""

    documents: dict[str, Any]
    failures: tuple[ParseFailure, ...]
    digest: str
    from_cache: bool


def _parse_one(yaml: YAML, rel: str, data: bytes) -> Any:
    from ruamel.yaml.error import YAMLError

    try:
        return yaml.load(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return ParseFailure(rel, f"not UTF-8: {exc}")
    except YAMLError as exc:
        return ParseFailure(rel, f"YAML error: {exc}")


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed") from None


def read_files(root: Path, paths: list[Path]) -> list[tuple[str, bytes]]:
    """``(relative path, bytes)`` of each file, in the order given."""
    return [(p.relative_to(root).as_posix(), p.read_bytes()) for p in paths]


def content_digest(files: list[tuple[str, bytes]]) -> str:
    """SHA-256 (hex) over every file's relative path and bytes, in order."""
    digest = hashlib.sha256()
    for rel, data in files:
        digest.update(rel.encode())
        digest.update(b"\0")
        digest.update(data)
        digest.update(b"\0")
    return digest.hexdigest()


@functools.cache
def parser_version() -> str:
    """The YAML parser's identity, found without importing it (a cache hit never needs the
    parser): the bytes of ``ruamel/yaml/__init__.py`` (its version) and the C extension's file
    name and size."""
    parts = []
    for name in ("ruamel.yaml", "_ruamel_yaml"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        origin = spec.origin if spec is not None else None
        try:
            if origin is None or not origin.endswith(".py"):
                size = os.stat(origin).st_size if origin else -1
                parts.append(f"{name} {origin} {size}")
            else:
                parts.append(hashlib.sha256(Path(origin).read_bytes()).hexdigest())
        except OSError:
            parts.append(f"{name} unreadable")
    return "\0".join(parts)


def _cache_key(label: str, files: list[tuple[str, bytes]]) -> tuple[str, str]:
    """(content digest over paths and bytes, cache key adding the parser's identity)."""
    content = content_digest(files)
    key = hashlib.sha256(f"{FORMAT_VERSION}\0{parser_version()}\0{label}\0{content}".encode())
    return content, key.hexdigest()


def cache_path(cache_dir: Path, label: str, key: str) -> Path:
    """The cache file of ``label`` under ``key``."""
    return cache_dir / f"{label}-{key}.pickle"


def read_private(path: Path) -> bytes | None:
    """The bytes of a cache file, or ``None`` when it is missing, unreadable, not owned by this
    user or writable by others (then it is not trusted)."""
    try:
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            if hasattr(os, "getuid") and (stat.st_uid != os.getuid() or stat.st_mode & 0o022):
                return None  # not ours, or writable by others: do not trust it
            return handle.read()
    except OSError:
        return None


def read_plain(path: Path, key: str) -> Any | None:
    """The plain data (builtin containers, text, numbers, dates) stored by
    ``write_entry(..., key, (key, value))``; ``None`` when missing, untrusted, corrupt or stored
    under another key.  Nothing else can be built, so a tampered file cannot run code."""
    data = read_private(path)
    if data is None:
        return None
    try:
        stored = _SafeUnpickler(io.BytesIO(data)).load()
    except Exception:  # corrupt, truncated or foreign: ignored, the caller computes again
        return None
    if not isinstance(stored, tuple) or len(stored) != 2 or stored[0] != key:
        return None
    return stored[1]


def _read_cache(path: Path, key: str) -> dict[str, Any] | None:
    documents = read_plain(path, key)
    return documents if isinstance(documents, dict) else None


def write_entry(cache_dir: Path, label: str, key: str, payload: object) -> bool:
    """Pickle ``payload`` into the cache file of ``label``/``key``; ``False`` if not stored.

    Written to a temporary file in the same folder and renamed into place, so a reader (or a
    concurrent writer) sees either no file or a whole one.  An unwritable folder or an
    unpicklable payload is not an error: nothing is stored.  Older entries of the label beyond
    :data:`KEEP_PER_LABEL` are removed.
    """
    try:
        cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{label}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, cache_path(cache_dir, label, key))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _prune(cache_dir, label)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return False  # an unwritable cache is not an error: the next run builds again
    return True


def _write_cache(cache_dir: Path, label: str, key: str, documents: dict[str, Any]) -> None:
    write_entry(cache_dir, label, key, (key, documents))


def _prune(cache_dir: Path, label: str) -> None:
    entries = []
    for path in cache_dir.glob(f"{label}-*.pickle"):
        with contextlib.suppress(OSError):  # removed meanwhile by a concurrent writer
            entries.append((path.stat().st_mtime, path))
    entries.sort(reverse=True)
    for _, old in entries[KEEP_PER_LABEL:]:
        with contextlib.suppress(OSError):
            old.unlink()


def read_bundle(
    root: Path,
    paths: list[Path],
    *,
    label: str,
    cache_dir: Path | None = None,
    use_cache: bool = True,
) -> Bundle:
    """Parse ``paths`` (under ``root``), from the cache when exactly these bytes were parsed.

    ``cache_dir=None`` uses :func:`default_cache_dir`; ``use_cache=False`` parses every file
    and stores nothing.  ``label`` names the bundle in the cache folder (``[a-z-]+``).
    """
    return parse_files(
        read_files(root, paths), label=label, cache_dir=cache_dir, use_cache=use_cache
    )


def parse_files(
    files: list[tuple[str, bytes]],
    *,
    label: str,
    cache_dir: Path | None = None,
    use_cache: bool = True,
) -> Bundle:
    """:func:`read_bundle` for files already read (``(relative path, bytes)``)."""
    content, key = _cache_key(label, files)
    folder = (cache_dir or default_cache_dir()) if use_cache else None
    if folder is not None:
        cached = _read_cache(cache_path(folder, label, key), key)
        if cached is not None and list(cached) == [rel for rel, _ in files]:
            return Bundle(cached, (), content, from_cache=True)
    yaml = strict_yaml()
    documents: dict[str, Any] = {}
    failures: list[ParseFailure] = []
    for rel, data in files:
        parsed = _parse_one(yaml, rel, data)
        if isinstance(parsed, ParseFailure):
            failures.append(parsed)
        else:
            documents[rel] = parsed
    if not failures and folder is not None:
        _write_cache(folder, label, key, documents)
    return Bundle(documents, tuple(failures), content, from_cache=False)
