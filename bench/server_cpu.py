"""CPU time used by a server process and all its descendants (Linux ``/proc``), for benchmarks.

``ProcessTreeCpu(pid).seconds()`` sums user + system time of ``pid`` and every live descendant
(uvicorn's worker processes).  Take it before and after a timed run and divide the difference
by the requests answered: the server's CPU per request, load generator excluded.  On a system
without ``/proc`` it answers ``nan``.
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
