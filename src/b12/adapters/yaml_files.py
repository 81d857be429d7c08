"""Strict, fast YAML reading with a parse cache keyed by the exact bytes read.

Parsing is ruamel.yaml's safe loader (YAML 1.2) with its C scanner/parser when the compiled
``ruamel.yaml.clib`` is installed (6-7x faster than the pure-Python one; same results, checked by
``tests/adapters/test_yaml_files.py``), and duplicate keys are rejected either way.

A set of files (the knowledge base, the vignette folder) is parsed as a *bundle*.  The parsed
documents of a bundle are cached in the user's cache folder (``platformdirs.user_cache_dir``, e.g.
``~/.cache/b12/yaml``) under a key that is the SHA-256 of this module's format version, the
ruamel.yaml version and every file's relative path and bytes.  So:

* the cache is never stale: any byte changed, file added, removed or renamed is a new key;
* only a successful strict parse is cached, so a file with a duplicate key or a syntax error is
  re-read (and rejected) every time;
* the cache holds parsed YAML only (dicts, lists, strings, numbers, dates), never a validated
  object: callers validate what they read on every run;
* it is read with an unpickler that can build nothing but builtin containers and ``datetime``
  values, so a tampered cache file cannot run code; an unreadable, corrupt or foreign cache file
  is ignored and the YAML is parsed again;
* an unwritable cache folder is not an error: the files are parsed and nothing is stored.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import io
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml import __version__ as _ruamel_version
from ruamel.yaml.error import YAMLError

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
    yaml = YAML(typ="safe")
    yaml.allow_duplicate_keys = False
    return yaml


def default_cache_dir() -> Path | None:
    """Where parsed bundles are cached (``None`` when no user cache folder can be named)."""
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("b12", appauthor=False)) / "yaml"
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


def _cache_key(label: str, files: list[tuple[str, bytes]]) -> tuple[str, str]:
    """(content digest over paths and bytes, cache key adding the parser version)."""
    digest = hashlib.sha256()
    for rel, data in files:
        digest.update(rel.encode())
        digest.update(b"\0")
        digest.update(data)
        digest.update(b"\0")
    content = digest.hexdigest()
    key = hashlib.sha256(f"{FORMAT_VERSION}\0{_ruamel_version}\0{label}\0{content}".encode())
    return content, key.hexdigest()


def _cache_path(cache_dir: Path, label: str, key: str) -> Path:
    return cache_dir / f"{label}-{key}.pickle"


def _read_cache(path: Path, key: str) -> dict[str, Any] | None:
    try:
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            if hasattr(os, "getuid") and (stat.st_uid != os.getuid() or stat.st_mode & 0o022):
                return None  # not ours, or writable by others: do not trust it
            stored = _SafeUnpickler(io.BytesIO(handle.read())).load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
        return None
    if not isinstance(stored, tuple) or len(stored) != 2 or stored[0] != key:
        return None
    documents = stored[1]
    return documents if isinstance(documents, dict) else None


def _write_cache(cache_dir: Path, label: str, key: str, documents: dict[str, Any]) -> None:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{label}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump((key, documents), handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, _cache_path(cache_dir, label, key))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _prune(cache_dir, label)
    except (OSError, pickle.PicklingError):
        return  # an unwritable cache is not an error: the next run parses again


def _prune(cache_dir: Path, label: str) -> None:
    entries = sorted(
        cache_dir.glob(f"{label}-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in entries[KEEP_PER_LABEL:]:
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
    files = [(p.relative_to(root).as_posix(), p.read_bytes()) for p in paths]
    content, key = _cache_key(label, files)
    folder = (cache_dir or default_cache_dir()) if use_cache else None
    if folder is not None:
        cached = _read_cache(_cache_path(folder, label, key), key)
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
