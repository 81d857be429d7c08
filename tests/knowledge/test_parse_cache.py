"""The parsed-YAML cache: never stale, never trusted blindly, YAML stays the source.

Tests that tamper with a parse entry read through ``check_knowledge_base``, which always parses
(from this cache) and validates; ``load_knowledge_base`` would be served by the compiled
knowledge base (``test_compiled_cache.py``) without reading the parse entry at all.
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from b12.adapters.knowledge_files import (
    check_knowledge_base,
    content_files,
    content_hash,
    default_knowledge_dir,
    load_knowledge_base,
)
from b12.adapters.yaml_files import read_bundle
from b12.core.errors import KnowledgeBaseError
from b12.core.knowledge import KnowledgeBase


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "knowledge"
    shutil.copytree(default_knowledge_dir(), dest)
    return dest


def _bundle(root: Path, cache: Path, label: str = "knowledge") -> object:
    return read_bundle(root, content_files(root), label=label, cache_dir=cache)


def _same(a: KnowledgeBase, b: KnowledgeBase) -> bool:
    """Equal content (the compiled condition functions differ by identity only)."""
    return (a.content_version, a.recommendations, a.regimens, a.sources) == (
        b.content_version,
        b.recommendations,
        b.regimens,
        b.sources,
    )


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("knowledge-*.pickle"))


def test_fast_loader_reads_every_bundled_file_as_the_pure_python_loader_does() -> None:
    pure = YAML(typ="safe", pure=True)
    root = default_knowledge_dir()
    vignettes = Path(__file__).parents[1] / "vignettes" / "cases"
    for folder in (root, vignettes):
        paths = sorted(folder.rglob("*.yaml"))
        bundle = read_bundle(folder, paths, label="t", use_cache=False)
        assert not bundle.failures
        for path in paths:
            expected = pure.load(path.read_text(encoding="utf-8"))
            assert bundle.documents[path.relative_to(folder).as_posix()] == expected, path


def test_second_load_comes_from_the_cache_and_equals_the_first(
    kb_copy: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = load_knowledge_base(kb_copy, cache_dir=cache)
    assert len(_entries(cache)) == 1
    second = read_bundle(kb_copy, content_files(kb_copy), label="knowledge", cache_dir=cache)
    assert second.from_cache
    assert _same(load_knowledge_base(kb_copy, cache_dir=cache), first)
    assert first.content_version == content_hash(kb_copy)


def test_any_byte_changed_is_parsed_again(kb_copy: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    before = load_knowledge_base(kb_copy, cache_dir=cache)
    path = kb_copy / "sources.yaml"
    path.write_bytes(path.read_bytes() + b"\n# a comment changes the bytes, not the content\n")
    bundle = read_bundle(kb_copy, content_files(kb_copy), label="knowledge", cache_dir=cache)
    assert not bundle.from_cache
    after = load_knowledge_base(kb_copy, cache_dir=cache)
    assert after.content_version != before.content_version
    assert len(_entries(cache)) == 2


def test_a_changed_value_is_seen_after_a_cached_load(kb_copy: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_knowledge_base(kb_copy, cache_dir=cache)
    rec = kb_copy / "safety/B12-SAFE-001.yaml"
    rec.write_text(
        rec.read_text(encoding="utf-8").replace("status: approved", "status: draft", 1),
        encoding="utf-8",
    )
    assert load_knowledge_base(kb_copy, cache_dir=cache).recommendations["B12-SAFE-001"].status == (
        "draft"
    )


def test_duplicate_keys_are_rejected_on_every_read_and_never_cached(
    kb_copy: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    load_knowledge_base(kb_copy, cache_dir=cache)
    rec = kb_copy / "safety/B12-SAFE-001.yaml"
    rec.write_text(rec.read_text(encoding="utf-8") + "status: draft\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(KnowledgeBaseError) as info:
            load_knowledge_base(kb_copy, cache_dir=cache)
        assert "duplicate" in info.value.problems[0].render().lower()
    assert len(_entries(cache)) == 1  # only the earlier, valid content


def test_validation_runs_on_cached_content(kb_copy: Path, tmp_path: Path) -> None:
    """The cache holds parsed YAML, not a verdict: a cached but invalid bundle is still refused."""
    cache = tmp_path / "cache"
    rec = kb_copy / "safety/B12-SAFE-001.yaml"
    rec.write_text(rec.read_text(encoding="utf-8") + "colour: red\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(KnowledgeBaseError) as info:
            load_knowledge_base(kb_copy, cache_dir=cache)
        assert "colour" in info.value.problems[0].render()
    bundle = read_bundle(kb_copy, content_files(kb_copy), label="knowledge", cache_dir=cache)
    assert bundle.from_cache


def test_a_tampered_cache_file_cannot_run_code_and_is_ignored(
    kb_copy: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    good = load_knowledge_base(kb_copy, cache_dir=cache)
    (entry,) = _entries(cache)
    key = entry.stem.split("-", 1)[1]
    marker = tmp_path / "pwned"
    entry.write_bytes(pickle.dumps((key, {"x": Exploit(str(marker))})))
    assert _same(check_knowledge_base(kb_copy, cache_dir=cache), good)
    assert not marker.exists()


def test_a_corrupt_or_group_writable_cache_file_is_ignored(kb_copy: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    good = load_knowledge_base(kb_copy, cache_dir=cache)
    (entry,) = _entries(cache)
    entry.write_bytes(b"not a pickle")
    assert _same(check_knowledge_base(kb_copy, cache_dir=cache), good)
    (entry,) = _entries(cache)
    key = entry.stem.split("-", 1)[1]
    names = [p.relative_to(kb_copy).as_posix() for p in content_files(kb_copy)]
    entry.write_bytes(pickle.dumps((key, dict.fromkeys(names, "forged"))))
    entry.chmod(0o666)
    assert _same(check_knowledge_base(kb_copy, cache_dir=cache), good)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only folder")
def test_an_unwritable_cache_folder_is_not_an_error(kb_copy: Path, tmp_path: Path) -> None:
    cache = tmp_path / "ro"
    cache.mkdir(mode=0o500)
    assert load_knowledge_base(kb_copy, cache_dir=cache).recommendations


def test_a_cache_path_that_is_a_file_is_not_an_error(kb_copy: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder would be")
    assert load_knowledge_base(kb_copy, cache_dir=blocker / "yaml").recommendations


class Exploit:
    """Pickles to a call of ``open(path, "w")``: proof of code execution if ever unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))
