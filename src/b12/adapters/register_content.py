"""Read the register review criteria and the recall reminder from the knowledge-base folder.

``register/review/*.yaml`` and ``register/outreach/*.yaml`` under the knowledge base root; the
files are parsed with the same strict YAML loader as the rest of the content and validated by
:func:`b12.core.register_review.build_register_content` against the loaded knowledge base.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from b12.adapters.knowledge_files import default_knowledge_dir
from b12.adapters.yaml_files import read_bundle
from b12.core.errors import KnowledgeBaseError, KnowledgeProblem
from b12.core.knowledge import KnowledgeBase
from b12.core.register_review import RegisterContent, build_register_content


def load_register_content(kb: KnowledgeBase, root: Path | None = None) -> RegisterContent:
    """The register content of the knowledge base at ``root`` (the bundled one by default)."""
    base = root or default_knowledge_dir()
    paths = sorted((base / "register").glob("*/*.yaml"))
    bundle = read_bundle(base, paths, label="register")
    problems = [KnowledgeProblem(f.path, "", f.message) for f in bundle.failures]

    def folder(name: str) -> dict[str, Any]:
        prefix = f"register/{name}/"
        return {rel: doc for rel, doc in bundle.documents.items() if rel.startswith(prefix)}

    review, outreach = folder("review"), folder("outreach")
    if problems:
        raise KnowledgeBaseError(problems)
    content, problems = build_register_content(review, outreach, kb)
    if content is None:
        raise KnowledgeBaseError(problems)
    return content
