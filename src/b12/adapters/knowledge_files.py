"""Read the knowledge base from YAML files and hand the parsed content to the core.

ruamel.yaml's safe loader rejects duplicate keys (PyYAML would silently keep the last one).
``content_version`` is a SHA-256 over every content file's relative path and bytes, so any
change to the content changes the version printed on every output.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from b12.core.errors import KnowledgeBaseError, KnowledgeProblem
from b12.core.kb_build import RawContent, build_knowledge_base
from b12.core.knowledge import KnowledgeBase


def default_knowledge_dir() -> Path:
    """The knowledge base bundled with the package."""
    return Path(str(resources.files("b12") / "knowledge"))


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = False
    return yaml


def _read(path: Path, root: Path, problems: list[KnowledgeProblem]) -> Any:
    try:
        return _yaml().load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        problems.append(
            KnowledgeProblem(path.relative_to(root).as_posix(), "", f"YAML error: {exc}")
        )
    except UnicodeDecodeError as exc:
        problems.append(
            KnowledgeProblem(path.relative_to(root).as_posix(), "", f"not UTF-8: {exc}")
        )
    return None


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


def read_raw(root: Path) -> RawContent:
    """Parse every file under ``root``; raise :class:`KnowledgeBaseError` on parse errors."""
    if not root.is_dir():
        raise KnowledgeBaseError([KnowledgeProblem(str(root), "", "knowledge directory not found")])
    problems: list[KnowledgeProblem] = []

    def one(name: str) -> dict[str, Any]:
        path = root / name
        if not path.is_file():
            problems.append(KnowledgeProblem(name, "", "missing"))
            return {}
        return {name: _read(path, root, problems)}

    def folder(name: str) -> dict[str, Any]:
        return {
            p.relative_to(root).as_posix(): _read(p, root, problems)
            for p in sorted((root / name).glob("*.yaml"))
        }

    raw = RawContent(
        sources=one("sources.yaml"),
        vocabulary=one("vocabulary.yaml"),
        parameters=one("parameters.yaml"),
        regimens=folder("regimens"),
        recommendations={**folder("recommendations"), **folder("safety")},
        content_version=content_hash(root),
        answering=one("answering.yaml"),
    )
    if problems:
        raise KnowledgeBaseError(problems)
    return raw


def load_knowledge_base(root: Path | None = None) -> KnowledgeBase:
    """Load and validate the knowledge base (the bundled one by default)."""
    return build_knowledge_base(read_raw(root or default_knowledge_dir()))
