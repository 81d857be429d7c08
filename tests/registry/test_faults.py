"""A failure in the middle of a write leaves nothing behind (every table's count unchanged).

Two ways in: the registry's own steps are made to fail after they have done their work, and a
failure is injected before each SQL statement of the write in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event

from b12.adapters.sql.registry import DoseOutcome, Registry
from b12.core.plan_models import Plan
from tests.registry.conftest import (
    ACTOR,
    UK_NEURO,
    UK_PA,
    at,
    hydroxo,
    picture,
    stored_window,
    table_counts,
)

DAY = date(2026, 3, 2)
NEXT = date(2026, 3, 4)


class Boom(RuntimeError):
    """The injected failure."""


def _enrol(registry: Registry, patient_id: str) -> Plan:
    return registry.add_patient(
        patient_id, picture(UK_PA, DAY), name="Ann", actor=ACTOR, now=at(DAY)
    )


def _dose(registry: Registry, patient_id: str, key: str | None = None) -> DoseOutcome:
    return registry.record_dose(patient_id, hydroxo(NEXT, key=key), actor=ACTOR, now=at(NEXT))


def _fail_after(monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """Make ``Registry.<step>`` do its work and then raise."""
    original = Registry.__dict__[step]
    if isinstance(original, staticmethod):
        inner = original.__func__

        def failing_static(*args: Any, **kwargs: Any) -> Any:
            inner(*args, **kwargs)
            raise Boom(step)

        monkeypatch.setattr(Registry, step, staticmethod(failing_static))
    else:

        def failing(self: Registry, *args: Any, **kwargs: Any) -> Any:
            original(self, *args, **kwargs)
            raise Boom(step)

        monkeypatch.setattr(Registry, step, failing)


@pytest.mark.parametrize("step", ["_refresh", "_audit"])
def test_a_failure_in_the_middle_of_enrolment_leaves_nothing(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    _enrol(registry, "P-000")
    before = table_counts(registry)
    _fail_after(monkeypatch, step)

    with pytest.raises(Boom):
        _enrol(registry, "P-001")

    assert table_counts(registry) == before
    monkeypatch.undo()
    _enrol(registry, "P-001")  # the id is free: nothing of the failed enrolment remains
    assert table_counts(registry)["patients"] == 2


@pytest.mark.parametrize("step", ["_refresh", "_audit", "_doses"])
def test_a_failure_in_the_middle_of_dose_recording_leaves_nothing(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    _enrol(registry, "P-001")
    registry.record_dose("P-001", hydroxo(DAY), actor=ACTOR, now=at(DAY))
    before = table_counts(registry)
    window = stored_window(registry, "P-001")
    _fail_after(monkeypatch, step)

    with pytest.raises(Boom):
        _dose(registry, "P-001", key="visit-2")

    assert table_counts(registry) == before
    assert stored_window(registry, "P-001") == window
    monkeypatch.undo()
    outcome = _dose(registry, "P-001", key="visit-2")  # the key was not taken by the failure
    assert not outcome.duplicate


def test_a_failure_in_the_middle_of_an_event_leaves_nothing(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.add_patient("P-001", picture(UK_NEURO, DAY), name=None, actor=ACTOR, now=at(DAY))
    registry.record_dose("P-001", hydroxo(DAY), actor=ACTOR, now=at(DAY))
    before = table_counts(registry)
    window = stored_window(registry, "P-001")
    _fail_after(monkeypatch, "_audit")

    with pytest.raises(Boom):
        registry.record_event("P-001", DAY, "no_further_improvement", actor=ACTOR, now=at(DAY))

    assert table_counts(registry) == before
    assert stored_window(registry, "P-001") == window


@contextmanager
def _fail_at_statement(registry: Registry, number: int | None) -> Iterator[list[str]]:
    """Raise before the ``number``-th SQL statement (0-based); yields the statements seen."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if number is not None and len(seen) == number:
            raise Boom(f"statement {number}: {statement[:60]}")
        seen.append(statement)

    event.listen(registry.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(registry.engine, "before_cursor_execute", before)


def _every_statement_fails_cleanly(
    registry: Registry,
    write: Callable[[str], object],
    prepare: Callable[[str], object] | None = None,
) -> int:
    """Fail ``write`` at each of its statements in turn: nothing is left behind each time.

    ``prepare`` enrols the patient first when ``write`` needs one.
    """
    if prepare is not None:
        prepare("probe")
    with _fail_at_statement(registry, None) as statements:
        write("probe")
    assert any(s.lstrip().upper().startswith("INSERT") for s in statements)
    for number in range(len(statements)):
        victim = f"victim-{number}"
        window = None
        if prepare is not None:
            prepare(victim)
            window = stored_window(registry, victim)
        before = table_counts(registry)
        with pytest.raises(Boom), _fail_at_statement(registry, number):
            write(victim)
        assert table_counts(registry) == before, statements[number]
        if window is not None:
            assert stored_window(registry, victim) == window, statements[number]
    return len(statements)


def test_enrolment_failing_at_any_statement_leaves_nothing(registry: Registry) -> None:
    count = _every_statement_fails_cleanly(registry, write=lambda pid: _enrol(registry, pid))
    assert count >= 5  # the patient, picture, course, window and audit statements at least


def test_dose_recording_failing_at_any_statement_leaves_nothing(registry: Registry) -> None:
    count = _every_statement_fails_cleanly(
        registry,
        write=lambda pid: _dose(registry, pid, key=f"key-{pid}"),
        prepare=lambda pid: _enrol(registry, pid),
    )
    assert count >= 4  # the dose, window and audit statements at least
