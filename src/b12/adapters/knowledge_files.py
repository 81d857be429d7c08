"""Read the knowledge base from YAML files and hand the parsed content to the core.

ruamel.yaml's safe loader rejects duplicate keys (PyYAML would silently keep the last one).
``content_version`` is a SHA-256 over every content file's relative path and bytes, so any
change to the content changes the version printed on every output.

The YAML stays the source.  Two caches sit in front of it, both in the cache folder of
:mod:`b12.adapters.yaml_files` (``~/.cache/b12/content`` on Linux; ``B12_CACHE_DIR`` names
another, ``B12_NO_CACHE=1`` turns both off):

* the *parsed* documents, keyed by every file's bytes (``yaml_files``);
* the *compiled* knowledge base: the :class:`KnowledgeBase` that ``build_knowledge_base``
  returned after validating exactly these bytes, pickled.  Its key is a SHA-256 over the
  content digest (every file's relative path and bytes), :func:`code_fingerprint` (the bytes
  of every ``b12/core`` module and top-level ``b12/adapters`` module, the Python, pydantic and
  YAML parser versions) and :data:`COMPILED_FORMAT`.  Any change to any of these is a
  different key, so a stored entry is never stale: the files are parsed (duplicate keys
  rejected) and validated again, and the result stored under the new key.

:func:`load_knowledge_base` uses the compiled copy when its key matches;
:func:`check_knowledge_base` (``b12 kb check``, the CI gate) always parses and validates the
files and never reads the compiled copy.  A compiled entry is read only if the file belongs to
this user and nobody else can write to it, with an unpickler that builds nothing but the core's
content classes (pydantic models and dataclasses of ``b12.core``) and dates; anything odd (a
corrupt, truncated, foreign or older file) and the knowledge base is built from the YAML, never
a crash.  Compiled conditions are closures, so they are not stored: they are compiled again on
every load (``b12.core.kb_index.compile_predicates``, about 1 ms).

:func:`cached_coverage` keeps ``kb check``'s vignette-coverage verdict the same way, keyed by
the knowledge base's files, the vignette files and the code (docs/knowledge-authoring.md §11).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import io
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from b12.adapters.yaml_files import (
    cache_path,
    content_digest,
    default_cache_dir,
    parse_files,
    parser_version,
    read_files,
    read_plain,
    read_private,
    write_entry,
)
from b12.core.errors import KnowledgeBaseError, KnowledgeProblem

if TYPE_CHECKING:
    from b12.core.kb_build import RawContent
    from b12.core.knowledge import KnowledgeBase

#: Bump when what is stored in a compiled entry changes shape.
COMPILED_FORMAT = "1"
#: The common English words the answer engine's scope gate reads (``scripts/common_words.py``).
ENGLISH_WORDS = "english_words.yaml"
#: Questions as users asked them, per recommendation: retrieval text (``scripts/phrasings.py``).
PHRASINGS = "phrasings.yaml"
#: The compiled knowledge base's label in the cache folder (the parsed YAML is ``knowledge``).
COMPILED_LABEL = "kb"

_PACKAGE = Path(__file__).resolve().parents[1]
_DATES = {"date", "datetime", "timedelta", "timezone"}


def default_knowledge_dir() -> Path:
    """The knowledge base bundled with the package."""
    return _PACKAGE / "knowledge"


def content_files(root: Path) -> list[Path]:
    """Every content file, in a stable order."""
    return sorted(p for p in root.rglob("*.yaml") if p.is_file())


def content_hash(root: Path) -> str:
    """SHA-256 of all content files (relative path + bytes), shortened to 16 hex digits."""
    return "sha256:" + content_digest(read_files(root, content_files(root)))[:16]


def _read_content(root: Path) -> list[tuple[str, bytes]]:
    if not root.is_dir():
        raise KnowledgeBaseError([KnowledgeProblem(str(root), "", "knowledge directory not found")])
    return read_files(root, content_files(root))


def read_raw(root: Path, *, cache_dir: Path | None = None, use_cache: bool = True) -> RawContent:
    """Parse every file under ``root``; raise :class:`KnowledgeBaseError` on parse errors."""
    return _raw(root, _read_content(root), cache_dir=cache_dir, use_cache=use_cache)


def _raw(
    root: Path, files: list[tuple[str, bytes]], *, cache_dir: Path | None, use_cache: bool
) -> RawContent:
    from b12.core.kb_build import RawContent

    bundle = parse_files(files, label="knowledge", cache_dir=cache_dir, use_cache=use_cache)
    problems = [KnowledgeProblem(f.path, "", f.message) for f in bundle.failures]
    docs = bundle.documents

    def one(name: str) -> dict[str, Any]:
        if not (root / name).is_file():
            problems.append(KnowledgeProblem(name, "", "missing"))
            return {}
        return {name: docs.get(name)}

    def optional(name: str) -> dict[str, Any]:
        return {name: docs.get(name)} if (root / name).is_file() else {}

    def folder(name: str) -> dict[str, Any]:
        prefix = name + "/"
        return {
            rel: doc
            for rel, doc in docs.items()
            if rel.startswith(prefix) and "/" not in rel[len(prefix) :]
        }

    raw = RawContent(
        sources=one("sources.yaml"),
        vocabulary=one("vocabulary.yaml"),
        parameters=one("parameters.yaml"),
        regimens=folder("regimens"),
        recommendations={**folder("recommendations"), **folder("safety")},
        content_version="sha256:" + bundle.digest[:16],
        answering={**one("answering.yaml"), **one(ENGLISH_WORDS), **optional(PHRASINGS)},
    )
    if problems:
        raise KnowledgeBaseError(problems)
    return raw


def load_knowledge_base(
    root: Path | None = None, *, cache_dir: Path | None = None, use_cache: bool = True
) -> KnowledgeBase:
    """The validated knowledge base (the bundled one by default).

    From the compiled cache when exactly these files were validated by exactly this code
    before; otherwise parsed and validated (:func:`check_knowledge_base`).  ``cache_dir`` names
    the cache folder (default :func:`~b12.adapters.yaml_files.default_cache_dir`);
    ``use_cache=False`` reads, parses and validates everything and stores nothing.
    """
    root = root or default_knowledge_dir()
    files = _read_content(root)
    folder = (cache_dir or default_cache_dir()) if use_cache else None
    if folder is not None:
        key = compiled_key(files)
        if key is not None:
            kb = _read_compiled(cache_path(folder, COMPILED_LABEL, key), key, files)
            if kb is not None:
                return kb
    return _validate(root, files, folder, stored_ok=False)


def check_knowledge_base(
    root: Path | None = None, *, cache_dir: Path | None = None, use_cache: bool = True
) -> KnowledgeBase:
    """Parse and validate every file now, whatever is cached (``b12 kb check``).

    Only the YAML parse of unchanged bytes may come from the parse cache (duplicate keys and
    syntax errors are never cached); every check of ``build_knowledge_base`` runs.  On success
    the compiled copy is stored for :func:`load_knowledge_base`.
    """
    root = root or default_knowledge_dir()
    folder = (cache_dir or default_cache_dir()) if use_cache else None
    return _validate(root, _read_content(root), folder, stored_ok=True)


def _validate(
    root: Path, files: list[tuple[str, bytes]], folder: Path | None, *, stored_ok: bool
) -> KnowledgeBase:
    """Parse and validate; store the compiled copy (unless ``stored_ok`` and one exists: a
    check does not rewrite an entry that a load may use)."""
    from b12.core.kb_build import build_knowledge_base

    raw = _raw(root, files, cache_dir=folder, use_cache=folder is not None)
    kb = build_knowledge_base(raw)
    if folder is not None:
        key = compiled_key(files)
        if key is not None and (
            not stored_ok or not cache_path(folder, COMPILED_LABEL, key).exists()
        ):
            portable = dataclasses.replace(kb, predicates={})  # closures are compiled on load
            write_entry(folder, COMPILED_LABEL, key, (key, portable))
    return kb


def compiled_key(files: list[tuple[str, bytes]]) -> str | None:
    """The compiled cache key of these content files with this code (``None``: no caching,
    when b12's own source files cannot be read)."""
    code = code_fingerprint()
    if code is None:
        return None
    parts = (COMPILED_FORMAT, code, content_digest(files))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@functools.cache
def code_fingerprint() -> str | None:
    """SHA-256 over what turns content files into a knowledge base (or a check's verdict): the
    bytes of every ``b12/core`` module and of the top-level ``b12/adapters`` modules (this one,
    ``yaml_files``, ``vignettes``, ``documents``, …), the Python and pydantic versions and the
    YAML parser's version.  ``None`` when a source file cannot be read (then nothing is cached).
    """
    import pydantic

    digest = hashlib.sha256()
    modules = sorted((_PACKAGE / "core").rglob("*.py")) + sorted(
        (_PACKAGE / "adapters").glob("*.py")
    )
    try:
        for path in modules:
            digest.update(path.relative_to(_PACKAGE).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
        digest.update(f"{sys.version}\0{pydantic.VERSION}\0{parser_version()}".encode())
    except OSError:
        return None
    return digest.hexdigest()


class _ContentUnpickler(pickle.Unpickler):
    """Builds only ``b12.core`` content classes (pydantic models, dataclasses) and dates."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "datetime" and name in _DATES:
            return super().find_class(module, name)
        if module.startswith("b12.core.") and "." not in name and not name.startswith("_"):
            from pydantic import BaseModel

            found = getattr(importlib.import_module(module), name, None)
            if isinstance(found, type) and (
                issubclass(found, BaseModel) or dataclasses.is_dataclass(found)
            ):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed")


def _whole(kb: KnowledgeBase) -> bool:
    """Every field of this code's ``KnowledgeBase`` is there, with the right kind of value.

    The key already names the code that built the entry (:func:`code_fingerprint`); this is the
    cheap second line against an entry written by other code (a forged or hand-copied file).
    """
    from b12.core.knowledge import Answering, Recommendation, Vocabulary

    state = vars(kb)
    if not all(f.name in state for f in dataclasses.fields(kb)):
        return False
    return (
        isinstance(kb.vocabulary, Vocabulary)
        and isinstance(kb.answering, Answering)
        and all(isinstance(r, Recommendation) for r in kb.recommendations.values())
    )


def _read_compiled(path: Path, key: str, files: list[tuple[str, bytes]]) -> KnowledgeBase | None:
    """The stored knowledge base under ``key``, or ``None`` (missing, untrusted or unusable)."""
    from b12.core.kb_index import compile_predicates
    from b12.core.knowledge import KnowledgeBase

    data = read_private(path)
    if data is None:
        return None
    try:
        stored = _ContentUnpickler(io.BytesIO(data)).load()
        if not (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == key):
            return None
        kb = stored[1]
        if not isinstance(kb, KnowledgeBase) or not _whole(kb):
            return None
        if kb.content_version != "sha256:" + content_digest(files)[:16]:
            return None
        compile_predicates(kb)
    except Exception:  # any unreadable entry (corrupt, truncated, foreign) is rebuilt instead
        return None
    return kb


#: Bump when what a stored coverage verdict means changes.
COVERAGE_FORMAT = "1"
COVERAGE_LABEL = "coverage"


def cached_coverage(
    kb_root: Path | None,
    vignettes: Path,
    compute: Callable[[], list[str]],
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
) -> tuple[list[str], bool]:
    """The vignette coverage problems, and whether they came from the cache.

    ``compute`` runs every vignette against the knowledge base (``kb check``).  Its verdict is
    a pure function of the knowledge base's files, the vignette files and the code, so it is
    stored under a SHA-256 of all three: every content file's and every ``*.yaml`` vignette
    file's relative path and bytes, :func:`code_fingerprint` (the core and adapter sources,
    Python, pydantic and parser versions) and :data:`COVERAGE_FORMAT`.  Any change to any of
    them is a miss, and a miss runs ``compute`` in full.  A folder that cannot be read, or
    ``compute`` raising, stores nothing.
    """
    folder = (cache_dir or default_cache_dir()) if use_cache else None
    code = code_fingerprint() if folder is not None else None
    if folder is None or code is None:
        return compute(), False
    kb_files = _read_content(kb_root or default_knowledge_dir())
    cases = read_files(vignettes, sorted(vignettes.glob("*.yaml")))
    parts = (COVERAGE_FORMAT, code, content_digest(kb_files), content_digest(cases))
    key = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    stored = read_plain(cache_path(folder, COVERAGE_LABEL, key), key)
    if isinstance(stored, list) and all(isinstance(line, str) for line in stored):
        return stored, True
    problems = compute()
    write_entry(folder, COVERAGE_LABEL, key, (key, list(problems)))
    return problems, False
