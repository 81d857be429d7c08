"""The package's public names are exactly ``__all__`` (httpx's test_exported_members idea)."""

from datetime import date

import b12


def test_all_lists_every_public_name_and_nothing_else() -> None:
    public = {name for name in dir(b12) if not name.startswith("_")}
    modules = {"adapters", "core", "entrypoints"}
    assert public - modules == set(b12.__all__)


def test_library_example_in_the_docstring_runs() -> None:
    kb = b12.load_knowledge_base()
    picture = b12.parse_picture(
        {"age": 68, "cause": "pernicious_anaemia", "labs": {"serum_b12_ng_l": 110}}, kb
    )
    result = b12.plan(picture, kb, as_of=date(2026, 3, 2))
    assert result.pathway.id == "uk-im-no-neuro"


def test_every_public_name_is_the_object_its_module_defines() -> None:
    """``b12`` imports its names on first use; each is the defining module's own object."""
    import importlib

    homes = b12._HOMES
    assert set(homes) == set(b12.__all__)
    for name in b12.__all__:
        assert getattr(b12, name) is getattr(importlib.import_module(homes[name]), name), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = b12.nonsense
