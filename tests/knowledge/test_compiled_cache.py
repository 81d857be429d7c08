"""The compiled knowledge base (issue 16): a validated KnowledgeBase kept per content and code.

What must hold: an entry is used only for exactly the bytes (and code) it was built from; an
edited file is parsed and validated again (duplicate keys still rejected); a corrupt, foreign,
forged or unreadable entry is rebuilt, never a crash and never code run; an unwritable cache is
not an error; concurrent writers leave one whole entry; and outputs are byte-identical with and
without the cache.  ``kb check`` never trusts the compiled copy, and its coverage verdict is
reused only for the same knowledge files, vignette files and code.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from b12.adapters.knowledge_files import (
    COMPILED_LABEL,
    check_knowledge_base,
    compiled_key,
    content_files,
    content_hash,
    default_knowledge_dir,
    load_knowledge_base,
)
from b12.adapters.vignettes import load_vignettes, run_vignette
from b12.adapters.yaml_files import cache_path, read_files
from b12.core.errors import KnowledgeBaseError
from b12.core.knowledge import KnowledgeBase
from b12.core.requests import plan_request
from b12.entrypoints import cli

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
VIGNETTES = ROOT / "tests" / "vignettes" / "cases"
EXAMPLE = ROOT / "examples" / "pernicious-anaemia-uk.json"
SAFETY = "safety/B12-SAFE-001.yaml"


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "knowledge"
    shutil.copytree(default_knowledge_dir(), dest)
    return dest


def _compiled(cache: Path) -> list[Path]:
    return sorted(cache.glob(f"{COMPILED_LABEL}-*.pickle"))


def _entry(root: Path, cache: Path) -> Path:
    key = compiled_key(read_files(root, content_files(root)))
    assert key is not None
    return cache_path(cache, COMPILED_LABEL, key)


def _same(a: KnowledgeBase, b: KnowledgeBase) -> None:
    """Every field equal; the compiled conditions (closures) by name."""
    for field in dataclasses.fields(KnowledgeBase):
        if field.name == "predicates":
            assert a.predicates.keys() == b.predicates.keys()
        else:
            assert getattr(a, field.name) == getattr(b, field.name), field.name


def _probe(code: str, cache: Path) -> list[str]:
    """Run ``code`` in a fresh interpreter with ``cache`` as the cache folder; its last line."""
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "B12_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


LOAD_AND_REPORT = (
    "import json, sys\n"
    "from b12.adapters.knowledge_files import load_knowledge_base\n"
    "kb = load_knowledge_base()\n"
    "assert kb.recommendations and kb.predicates\n"
    "names = ('ruamel.yaml', 'b12.core.kb_build', 'b12.core.kb_sections', 'b12.core.kb_links')\n"
    "print(json.dumps([m for m in names if m in sys.modules]))\n"
)


def test_a_warm_load_neither_parses_nor_validates(tmp_path: Path) -> None:
    """The first run parses and validates (and stores); the next one loads the stored result
    without importing the YAML parser or the validators at all."""
    cache = tmp_path / "cache"
    assert _probe(LOAD_AND_REPORT, cache) == [
        "ruamel.yaml",
        "b12.core.kb_build",
        "b12.core.kb_sections",
        "b12.core.kb_links",
    ]
    assert len(_compiled(cache)) == 1
    assert _probe(LOAD_AND_REPORT, cache) == []


def test_the_compiled_knowledge_base_equals_a_fresh_build(kb_copy: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_knowledge_base(kb_copy, cache_dir=cache)
    assert _entry(kb_copy, cache).exists()
    warm = load_knowledge_base(kb_copy, cache_dir=cache)
    _same(warm, load_knowledge_base(kb_copy, use_cache=False))


def test_outputs_are_byte_identical_with_and_without_the_cache(tmp_path: Path) -> None:
    """Every vignette (plans, order checks, follow-ups) gives the same bytes from the compiled
    knowledge base as from a fresh parse and validation."""
    cache = tmp_path / "cache"
    load_knowledge_base(cache_dir=cache)
    warm = load_knowledge_base(cache_dir=cache)
    fresh = load_knowledge_base(use_cache=False)
    vignettes = load_vignettes(VIGNETTES)
    assert len(vignettes) > 100
    for v in vignettes:
        assert (
            run_vignette(v, warm).model_dump_json() == run_vignette(v, fresh).model_dump_json()
        ), v.id
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    plans = [plan_request(doc, kb)[1].model_dump_json() for kb in (warm, fresh)]
    assert plans[0] == plans[1]


def test_the_command_prints_the_same_bytes_cold_warm_and_with_caching_off(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    runs = []
    for extra in ({}, {}, {"B12_NO_CACHE": "1"}):
        base = {k: v for k, v in os.environ.items() if k != "B12_NO_CACHE"}
        env = {**base, "PYTHONPATH": str(SRC), "B12_CACHE_DIR": str(cache), **extra}
        args = [sys.executable, "-m", "b12.entrypoints.cli", "plan", str(EXAMPLE), "--json"]
        args += ["--as-of", "2026-03-02"]
        done = subprocess.run(args, env=env, capture_output=True, check=True)
        runs.append(done.stdout)
    assert runs[0] == runs[1] == runs[2]
    assert len(_compiled(cache)) == 1  # B12_NO_CACHE wrote nothing


def test_an_edited_file_is_validated_again_and_its_change_seen(
    kb_copy: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    before = load_knowledge_base(kb_copy, cache_dir=cache)
    assert before.recommendations["B12-SAFE-001"].status == "approved"
    rec = kb_copy / SAFETY
    rec.write_text(
        rec.read_text(encoding="utf-8").replace("status: approved", "status: draft", 1),
        encoding="utf-8",
    )
    after = load_knowledge_base(kb_copy, cache_dir=cache)
    assert after.recommendations["B12-SAFE-001"].status == "draft"
    assert after.content_version != before.content_version
    assert len(_compiled(cache)) == 2


def test_an_edit_that_breaks_the_content_is_refused_despite_an_earlier_entry(
    kb_copy: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    load_knowledge_base(kb_copy, cache_dir=cache)
    rec = kb_copy / SAFETY
    rec.write_text(rec.read_text(encoding="utf-8") + "colour: red\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(KnowledgeBaseError) as info:
            load_knowledge_base(kb_copy, cache_dir=cache)
        assert "colour" in info.value.problems[0].render()
    assert len(_compiled(cache)) == 1  # nothing stored for the broken content


def test_duplicate_keys_are_still_rejected_with_a_compiled_entry_present(
    kb_copy: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    load_knowledge_base(kb_copy, cache_dir=cache)
    rec = kb_copy / SAFETY
    rec.write_text(rec.read_text(encoding="utf-8") + "status: draft\n", encoding="utf-8")
    for load in (load_knowledge_base, check_knowledge_base, load_knowledge_base):
        with pytest.raises(KnowledgeBaseError) as info:
            load(kb_copy, cache_dir=cache)
        assert "duplicate" in info.value.problems[0].render().lower()
    assert len(_compiled(cache)) == 1


class Exploit:
    """Pickles to a call of ``open(path, "w")``: proof of code execution if ever unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


def _forgeries(key: str, good: KnowledgeBase, marker: Path) -> dict[str, bytes]:
    valid = pickle.dumps((key, dataclasses.replace(good, predicates={})))
    no_answering = dataclasses.replace(good, predicates={})
    del no_answering.__dict__["answering"]  # the shape of an older KnowledgeBase class
    return {
        "not a pickle": b"not a pickle",
        "truncated": valid[: len(valid) // 2],
        "empty": b"",
        "runs code": pickle.dumps((key, Exploit(str(marker)))),
        "plain data": pickle.dumps((key, {"recommendations": {}})),
        "another key": pickle.dumps(("0" * 64, dataclasses.replace(good, predicates={}))),
        "other content": pickle.dumps(
            (key, dataclasses.replace(good, predicates={}, content_version="sha256:0"))
        ),
        "older class shape": pickle.dumps((key, no_answering)),
        "unknown class": valid.replace(b"Vocabulary", b"Vocabularz"),
    }


def test_a_corrupt_foreign_or_forged_entry_is_rebuilt_never_a_crash(
    kb_copy: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    good = load_knowledge_base(kb_copy, cache_dir=cache)
    entry = _entry(kb_copy, cache)
    key = entry.name.removeprefix(f"{COMPILED_LABEL}-").removesuffix(".pickle")
    marker = tmp_path / "pwned"
    for name, data in _forgeries(key, good, marker).items():
        entry.write_bytes(data)
        entry.chmod(0o600)
        _same(load_knowledge_base(kb_copy, cache_dir=cache), good)
        assert not marker.exists(), name
        # ... and the rebuilt entry was stored again, whole
        assert pickle.loads(entry.read_bytes())[0] == key, name


def test_an_entry_others_can_write_is_not_trusted(kb_copy: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    good = load_knowledge_base(kb_copy, cache_dir=cache)
    entry = _entry(kb_copy, cache)
    forged = dataclasses.replace(good, predicates={})
    forged.recommendations["B12-SAFE-001"] = forged.recommendations["B12-SAFE-001"].model_copy(
        update={"title": "FORGED"}
    )
    key = entry.name.removeprefix(f"{COMPILED_LABEL}-").removesuffix(".pickle")
    entry.write_bytes(pickle.dumps((key, forged)))
    entry.chmod(0o666)
    loaded = load_knowledge_base(kb_copy, cache_dir=cache)
    assert loaded.recommendations["B12-SAFE-001"].title != "FORGED"


def test_a_cache_folder_that_cannot_be_created_is_not_an_error(
    kb_copy: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder would be")
    for _ in range(2):
        kb = load_knowledge_base(kb_copy, cache_dir=blocker / "content")
        _same(kb, load_knowledge_base(kb_copy, use_cache=False))


def test_concurrent_cold_loads_leave_one_whole_entry(kb_copy: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from b12.adapters.knowledge_files import load_knowledge_base\n"
        "kb = load_knowledge_base(Path(sys.argv[1]), cache_dir=Path(sys.argv[2]))\n"
        "print(kb.content_version)\n"
    )
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(kb_copy), str(cache)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    versions = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(versions) == 1
    assert len(_compiled(cache)) == 1
    assert not list(cache.glob(".*.tmp"))  # no half-written file left behind
    _same(load_knowledge_base(kb_copy, cache_dir=cache), load_knowledge_base(kb_copy))


# -- kb check ----------------------------------------------------------------------------------


def test_kb_check_never_trusts_the_compiled_copy(kb_copy: Path, tmp_path: Path) -> None:
    """A (forged) compiled entry for broken content is served to a load, but ``check`` parses
    and validates the files and refuses them."""
    cache = tmp_path / "cache"
    good = load_knowledge_base(kb_copy, cache_dir=cache)
    rec = kb_copy / SAFETY
    rec.write_text(rec.read_text(encoding="utf-8") + "colour: red\n", encoding="utf-8")
    entry = _entry(kb_copy, cache)
    key = entry.name.removeprefix(f"{COMPILED_LABEL}-").removesuffix(".pickle")
    forged = dataclasses.replace(good, predicates={}, content_version=content_hash(kb_copy))
    entry.write_bytes(pickle.dumps((key, forged)))
    entry.chmod(0o600)
    assert load_knowledge_base(kb_copy, cache_dir=cache).recommendations  # the cache's word
    with pytest.raises(KnowledgeBaseError) as info:
        check_knowledge_base(kb_copy, cache_dir=cache)
    assert "colour" in info.value.problems[0].render()


def _kb_check(
    runner: CliRunner, kb_root: Path, cases: Path, monkeypatch: pytest.MonkeyPatch, cache: Path
) -> tuple[int, str, str]:
    monkeypatch.setenv("B12_CACHE_DIR", str(cache))
    result = runner.invoke(
        cli.app, ["kb", "check", "--kb", str(kb_root), "--vignettes", str(cases)]
    )
    return result.exit_code, result.stdout, result.stderr


def _coverage_run(
    runner: CliRunner, kb_root: Path, cases: Path, monkeypatch: pytest.MonkeyPatch, cache: Path
) -> str:
    """``kb check`` passes; ``"reused"`` when its coverage verdict came from an earlier run."""
    code, out, err = _kb_check(runner, kb_root, cases, monkeypatch, cache)
    assert code == 0, err
    assert "vignette coverage OK" in out
    return "reused" if "verdict of an earlier run" in out else "full"


def test_kb_check_reuses_a_coverage_verdict_only_for_the_same_files(
    kb_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = tmp_path / "cases"
    shutil.copytree(VIGNETTES, cases)
    cache = tmp_path / "cache"
    runner = CliRunner()
    assert _coverage_run(runner, kb_copy, cases, monkeypatch, cache) == "full"
    assert _coverage_run(runner, kb_copy, cases, monkeypatch, cache) == "reused"
    # a byte changed in one vignette: every vignette runs again
    first = sorted(cases.glob("*.yaml"))[0]
    first.write_bytes(first.read_bytes() + b"\n# reviewed\n")
    assert _coverage_run(runner, kb_copy, cases, monkeypatch, cache) == "full"
    # a byte changed in the knowledge base: likewise
    rec = kb_copy / SAFETY
    rec.write_bytes(rec.read_bytes() + b"\n# reviewed\n")
    assert _coverage_run(runner, kb_copy, cases, monkeypatch, cache) == "full"
    assert _coverage_run(runner, kb_copy, cases, monkeypatch, cache) == "reused"
    # caching off: a full run, nothing reused
    monkeypatch.setenv("B12_NO_CACHE", "1")
    assert _coverage_run(runner, kb_copy, cases, monkeypatch, cache) == "full"


def test_kb_check_fails_every_time_when_coverage_is_missing(
    kb_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Remove the vignettes that make one rule fire: the failure is reported on the full run
    and again (not turned into a pass) when the verdict is reused."""
    cases = tmp_path / "cases"
    shutil.copytree(VIGNETTES, cases)
    kb = load_knowledge_base(kb_copy)
    target = "B12-SAFE-001"
    for v in load_vignettes(cases):
        if target in {r.id for r in run_vignette(v, kb).recommendations}:
            v.path.unlink()
    runner = CliRunner()
    for _ in range(2):
        code, _, err = _kb_check(runner, kb_copy, cases, monkeypatch, tmp_path / "cache")
        assert code == 1
        assert f"coverage: {target} is not exercised by any vignette where it fires" in err


@pytest.mark.parametrize("xdg", [None, "", "  ", "/tmp/xdg-cache"])
def test_the_default_cache_folder_is_platformdirs_user_cache_folder(
    xdg: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import platformdirs

    from b12.adapters.yaml_files import default_cache_dir

    monkeypatch.delenv("B12_CACHE_DIR", raising=False)
    monkeypatch.delenv("B12_NO_CACHE", raising=False)
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    expected = Path(platformdirs.user_cache_dir("b12", appauthor=False)) / "content"
    assert default_cache_dir() == expected
    monkeypatch.setenv("B12_CACHE_DIR", "/somewhere/else")
    assert default_cache_dir() == Path("/somewhere/else")
    monkeypatch.setenv("B12_NO_CACHE", "1")
    assert default_cache_dir() is None
    monkeypatch.setenv("B12_NO_CACHE", "0")
    assert default_cache_dir() == Path("/somewhere/else")
