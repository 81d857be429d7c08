"""Read the knowledge base from YAML files and hand the parsed content to the core.

ruamel.yaml's safe loader rejects duplicate keys (PyYAML would silently keep the last one).
``content_version`` is a SHA-256 over every content file's relative path and bytes, so any
change to the content changes the version printed on every output.

The YAML stays the source.  Parsing goes through :mod:`b12.adapters.yaml_files`, which caches
the *parsed* documents under a key made of every file's bytes (never stale); the core then
validates what was read on every load (``build_knowledge_base``, ~15 ms), so ``b12 kb check``
validates the content itself on every run and the cache only saves the YAML parse.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

from b12.adapters.yaml_files import read_bundle
from b12.core.errors import KnowledgeBaseError, KnowledgeProblem
from b12.core.kb_build import RawContent, build_knowledge_base
from b12.core.knowledge import KnowledgeBase


def default_knowledge_dir() -> Path:
    """The knowledge base bundled with the package."""
    return Path(str(resources.files("b12") / "knowledge"))


def content_files(root: Path) -> list[Path]:
    """Every content file, in a stable order."""
    return sorted(p for p in root.rglob("*.yaml") if p.is_file())


def content_hash(root: Path) -> str:
    """SHA-256 of all content files (relative path + bytes), shortened to 16 hex digits."""
    digest = hashlib.sha256()
    for path in content_files(root):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()[:16]


def read_raw(root: Path, *, cache_dir: Path | None = None, use_cache: bool = True) -> RawContent:
    """Parse every file under ``root``; raise :class:`KnowledgeBaseError` on parse errors."""
    if not root.is_dir():
        raise KnowledgeBaseError([KnowledgeProblem(str(root), "", "knowledge directory not found")])
    bundle = read_bundle(
        root, content_files(root), label="knowledge", cache_dir=cache_dir, use_cache=use_cache
    )
    problems = [KnowledgeProblem(f.path, "", f.message) for f in bundle.failures]
    docs = bundle.documents

    def one(name: str) -> dict[str, Any]:
        if not (root / name).is_file():
            problems.append(KnowledgeProblem(name, "", "missing"))
            return {}
        return {name: docs.get(name)}

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
        answering=one("answering.yaml"),
    )
    if problems:
        raise KnowledgeBaseError(problems)
    return raw


def load_knowledge_base(
    root: Path | None = None, *, cache_dir: Path | None = None, use_cache: bool = True
) -> KnowledgeBase:
    """Load and validate the knowledge base (the bundled one by default).

    Validation runs on every call; only the YAML parse of unchanged bytes comes from the cache.
    """
    raw = read_raw(root or default_knowledge_dir(), cache_dir=cache_dir, use_cache=use_cache)
    return build_knowledge_base(raw)
