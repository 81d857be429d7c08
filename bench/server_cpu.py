"""CPU time used by a server process and all its descendants (Linux ``/proc``), for benchmarks.

``ProcessTreeCpu(pid).seconds()`` sums user + system time of ``pid`` and every live descendant
(uvicorn's worker processes).  Take it before and after a timed run and divide the difference
by the requests answered: the server's CPU per request, load generator excluded.  On a system
without ``/proc`` it answers ``nan``.  :class:`AppLog` reads the time each request spent
inside the app from the server's log.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces; everything after its ')' is space-separated
    return text[text.rindex(")") + 2 :].split()


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


class ProcessTreeCpu:
    """User + system CPU seconds of a process and its descendants."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def seconds(self) -> float:
        if not Path("/proc").is_dir():
            return float("nan")
        tree = _children()
        total, todo = 0, [self.pid]
        while todo:
            pid = todo.pop()
            fields = _stat(pid)
            if fields is not None:
                # fields[11], [12] are utime, stime (stat fields 14, 15), in clock ticks
                total += int(fields[11]) + int(fields[12])
            todo.extend(tree.get(pid, []))
        return total / _TICKS


class AppLog:
    """The time each request spent inside the app, from ``b12 serve``'s log lines.

    The app logs ``METHOD /route/template STATUS 1.2ms`` for every request, timed from when its
    middleware is called to when the app returns: parsing, waiting for the event loop between
    steps, the handler, the database.  Not included: the time the request waited before the
    event loop read it, and sending the answer.  Comparing it with the client's latency shows
    where requests wait.  ``mark()`` before a run, ``durations(...)`` after it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def durations(self, method: str, template: str) -> list[float]:
        """Milliseconds of each ``method template`` request logged since :meth:`mark`."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as log:
            log.seek(self.offset)
            text = log.read().decode("utf-8", "replace")
        found = []
        prefix = f" {method} {template} "
        for line in text.splitlines():
            at = line.find(prefix)
            if at >= 0 and line.endswith("ms"):
                try:
                    found.append(float(line.rsplit(" ", 1)[1][:-2]))
                except ValueError:
                    continue
        return found


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``; nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
