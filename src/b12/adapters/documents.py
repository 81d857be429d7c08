"""Reading JSON and YAML documents from outside: one function for every entry point.

A document is read with a size limit (at most ``limit + 1`` bytes are ever read, so ``/dev/zero``
or a huge pipe cannot grow memory), parsed, then copied into plain JSON values while its depth
and its number of values are counted.  The count makes a YAML alias bomb (a few lines whose
aliases expand to billions of values) fail fast instead of expanding.  Every problem is one
:class:`InputError` naming ``field``; the message never quotes more than a few characters of
the input.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from b12.core.errors import FieldProblem, InputError

#: The largest document accepted (the same as the HTTP API's body limit).
MAX_DOCUMENT_BYTES = 1_000_000
#: The deepest nesting of objects and lists accepted (a picture is 3 levels deep).
MAX_DEPTH = 64
#: The most values (objects, lists and scalars) a document may hold once aliases are expanded.
MAX_VALUES = 100_000
#: The longest error message taken from a parser (parsers quote the input).
MAX_MESSAGE = 200


def _problem(field: str, message: str) -> InputError:
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "…"
    return InputError([FieldProblem(field, message)])


def read_bytes(
    source: str | Path, *, field: str = "input", limit: int = MAX_DOCUMENT_BYTES
) -> bytes:
    """The bytes of a file, or of standard input for ``-``; more than ``limit`` is refused."""
    try:
        if str(source) == "-":
            raw = sys.stdin.buffer.read(limit + 1)
        else:
            with Path(source).open("rb") as fh:
                raw = fh.read(limit + 1)
    except OSError as exc:
        raise _problem(field, f"cannot read {str(source)[:100]!r}: {exc.strerror}") from None
    if len(raw) > limit:
        raise _problem(field, f"larger than {limit} bytes")
    return raw


def _text(raw: bytes | str, field: str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _problem(field, "not UTF-8 text") from None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InputError([FieldProblem(key[:100], "duplicate key")])
        out[key] = value
    return out


def parse_json(raw: bytes | str, *, field: str = "input", limit: int = MAX_DOCUMENT_BYTES) -> Any:
    """A JSON document (duplicate keys refused) as plain values, within the limits."""
    if len(raw) > limit:
        raise _problem(field, f"larger than {limit} bytes")
    text = _text(raw, field)
    try:
        doc = json.loads(text, object_pairs_hook=_reject_duplicates)
    except json.JSONDecodeError as exc:
        raise _problem(
            field, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise _problem(field, f"nested more than {MAX_DEPTH} levels deep") from None
    except ValueError:  # an integer literal longer than Python converts (4300 digits)
        raise _problem(field, "a number in it is too long") from None
    return plain(doc, field=field)


def parse_yaml(raw: bytes | str, *, field: str = "input", limit: int = MAX_DOCUMENT_BYTES) -> Any:
    """A YAML document (safe loader, duplicate keys refused) as plain JSON values.

    Dates become ``YYYY-MM-DD`` text.  Aliases are expanded by :func:`plain`, which stops at
    :data:`MAX_VALUES`.
    """
    if len(raw) > limit:
        raise _problem(field, f"larger than {limit} bytes")
    text = _text(raw, field)
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        doc = yaml.load(text)
    except RecursionError:
        raise _problem(field, f"nested more than {MAX_DEPTH} levels deep") from None
    except YAMLError as exc:
        raise _problem(field, f"invalid YAML: {exc}") from None
    except (ValueError, TypeError, OverflowError):
        raise _problem(field, "invalid YAML: a value in it cannot be read") from None
    return plain(doc, field=field)


def load_document(source: str | Path, *, field: str = "input") -> Any:
    """Read and parse a file (or ``-``): YAML for ``.yaml``/``.yml`` files, JSON otherwise."""
    raw = read_bytes(source, field=field)
    if str(source).endswith((".yaml", ".yml")):
        return parse_yaml(raw, field=field)
    return parse_json(raw, field=field)


class _Budget:
    """How many values may still be copied."""

    def __init__(self, field: str) -> None:
        self.left = MAX_VALUES
        self.field = field

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _problem(self.field, f"more than {MAX_VALUES} values (after expanding aliases)")


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool) or key is None:
        return json.dumps(key)
    return str(key)


def _copy(value: Any, depth: int, budget: _Budget) -> Any:
    budget.spend()
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise _problem(budget.field, f"nested more than {MAX_DEPTH} levels deep")
        return {_key(k): _copy(v, depth + 1, budget) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            raise _problem(budget.field, f"nested more than {MAX_DEPTH} levels deep")
        return [_copy(v, depth + 1, budget) for v in value]
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def plain(value: Any, *, field: str = "input") -> Any:
    """A copy of ``value`` as plain JSON values (dict, list, str, int, float, bool, None).

    Raises :class:`InputError` when it is nested deeper than :data:`MAX_DEPTH` or holds more
    than :data:`MAX_VALUES` values; the walk stops there, so shared or cyclic references cannot
    make it expand without end.
    """
    return _copy(value, 0, _Budget(field))
