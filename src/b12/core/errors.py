"""The b12 exception tree.

::

    B12Error                      base; never raised directly
    ├── KnowledgeBaseError        our content is wrong (raised by load/check, never per request)
    │                             .problems: tuple of KnowledgeProblem(file, field_path, message)
    ├── InputError                the caller's data cannot be used as given
    │                             .problems: tuple of FieldProblem(field, message)
    ├── NotFound                  an unknown patient or record (registry)
    ├── Refused                   a clinical stop that needs an override reason (registry)
    └── Conflict                  an idempotency key reused for a different record (registry)

Clinical states (``needs_more_data``, ``refer``, ``out_of_scope``) are values of the plan, not
exceptions.  Each entry point maps ``InputError`` to its own boundary (CLI exit code 2, HTTP 422).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem with one field of the caller's input; ``field`` is a dotted path."""

    field: str
    message: str

    def render(self) -> str:
        """``field: message`` — the one-line form used by the CLI."""
        return f"{self.field}: {self.message}" if self.field else self.message


class B12Error(Exception):
    """Base of every error b12 raises on purpose."""

    def __init__(self, message: str) -> None:
        if type(self) is B12Error:
            raise TypeError("B12Error is abstract: raise a subclass")
        super().__init__(message)


class KnowledgeBaseError(B12Error):
    """The knowledge base content is invalid; ``problems`` lists every finding."""

    def __init__(self, problems: list[KnowledgeProblem]) -> None:
        self.problems = tuple(problems)
        first = problems[0].render() if problems else "invalid knowledge base"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)


@dataclass(frozen=True, slots=True)
class KnowledgeProblem:
    """One finding of knowledge-base validation: ``file › field.path: message``."""

    file: str
    field_path: str
    message: str

    def render(self) -> str:
        """Render as ``file › field.path: message``."""
        where = f"{self.file} › {self.field_path}" if self.field_path else self.file
        return f"{where}: {self.message}"


class InputError(B12Error):
    """The caller's input cannot be used; nothing was computed or written."""

    def __init__(self, problems: list[FieldProblem] | tuple[FieldProblem, ...]) -> None:
        if not problems:
            raise ValueError("InputError needs at least one problem")
        self.problems = tuple(problems)
        super().__init__(self.problems[0].render())

    def to_json(self) -> dict[str, object]:
        """The one canonical error body shared by every b12 JSON boundary."""
        return {
            "error": {
                "code": "invalid_input",
                "message": self.problems[0].render(),
                "fields": [{"field": p.field, "message": p.message} for p in self.problems],
            }
        }


class NotFound(B12Error):
    """A patient or record that the registry does not hold."""


def quoted(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to about ``limit`` characters: error messages never echo a
    megabyte of input back."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


class Refused(B12Error):
    """A write refused on clinical grounds (an order check ``stop`` without an override)."""

    def __init__(self, message: str, detail: object) -> None:
        self.detail = detail
        super().__init__(message)


class Conflict(B12Error):
    """A write that contradicts one already made under the same idempotency key.

    ``recorded`` and ``submitted`` describe the two (JSON-ready mappings).
    """

    def __init__(
        self, message: str, recorded: dict[str, object], submitted: dict[str, object]
    ) -> None:
        self.recorded = recorded
        self.submitted = submitted
        super().__init__(message)
