"""A lean HTTP/1.1 load generator for the load benchmarks: asyncio, one keep-alive connection
per client, requests written as prepared bytes (issue #16).

Why not httpx: an ``httpx.AsyncClient`` request costs the generator about 1 ms of CPU, so on a
2-core machine shared with the server the generator took CPU the server needed and its own
event loop delayed reading answers, which then counted as server latency.  Here a request
costs the generator a few tens of microseconds: it writes the request in one ``write`` and
reads the status line, the headers and a ``Content-Length`` (or chunked) body.

What it measures: for each request, the time from writing the request to having read the
whole answer, on the client's clock (``time.perf_counter``), so the latency includes the
network stack, the server's queueing and the time the generator's own event loop took to
notice the answer (with many clients on a busy machine that is part of the figure, as it would
be for a real EHR).  ``TCP_NODELAY`` is set on every connection.  :func:`run_processes` shares
the clients out over several generator processes.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: ``make()`` -> (method, path, extra headers, body) for the next request of any client; None
#: stops the client that asked (e.g. the pre-signed tokens ran out).
RequestMaker = Callable[[], tuple[str, str, dict[str, str], bytes] | None]


@dataclass
class Outcome:
    """What the clients saw: latency of each answered request, statuses, errors."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    ran_out: bool = False
    seconds: float = 0.0
    client_cpu: float = 0.0  # the generator's CPU seconds per second of the run
    connections: int = 0  # TCP connections opened (one per client when keep-alive holds)

    def count(self, status: str, ok: bool) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.errors += 0 if ok else 1


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.opened = 0

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        """Send one request and read its whole answer: (status, body)."""
        if self.writer is None:
            await self.open()
            self.opened += 1
        assert self.reader is not None
        assert self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        fields: dict[str, str] = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            data = await self.reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            data = await self._chunked()
        else:  # the answer ends when the server closes the connection
            data = await self.reader.read()
            self.close()
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, data

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


async def run(
    host: str,
    port: int,
    clients: int,
    seconds: float,
    make: RequestMaker,
    *,
    measure: bool = True,
) -> Outcome:
    """``clients`` connections send requests from ``make`` back to back for ``seconds``."""
    outcome = Outcome()
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        conn = Connection(host, port)
        try:
            while time.perf_counter() < deadline:
                prepared = make()
                if prepared is None:
                    outcome.ran_out = True
                    return
                method, path, headers, body = prepared
                sent = time.perf_counter()
                try:
                    status, _ = await conn.request(method, path, headers, body)
                    label, ok = str(status), 200 <= status < 300
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    conn.close()
                    label, ok = type(exc).__name__, False
                if measure:
                    outcome.latencies_ms.append((time.perf_counter() - sent) * 1000)
                    outcome.count(label, ok)
        finally:
            conn.close()
            outcome.connections += conn.opened

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    outcome.seconds = time.perf_counter() - wall
    outcome.client_cpu = (time.process_time() - cpu) / outcome.seconds
    return outcome


def _child(
    queue: Any,
    host: str,
    port: int,
    clients: int,
    seconds: float,
    make: RequestMaker,
    measure: bool,
) -> None:
    queue.put(asyncio.run(run(host, port, clients, seconds, make, measure=measure)))


def run_processes(
    host: str,
    port: int,
    clients: int,
    seconds: float,
    makers: Sequence[RequestMaker],
    *,
    measure: bool = True,
) -> Outcome:
    """:func:`run` in ``len(makers)`` generator processes (forked), the clients shared out.

    Real EHR clients are separate machines; one generator process on a busy machine is
    scheduled as one process, and while it waits for a core every one of its clients waits.
    Each process gets its own ``make`` (e.g. its own share of the pre-signed tokens).
    """
    used = makers[: max(1, min(len(makers), clients))]
    shares = [
        clients // len(used) + (1 if i < clients % len(used) else 0) for i in range(len(used))
    ]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [
        context.Process(target=_child, args=(queue, host, port, n, seconds, make, measure))
        for n, make in zip(shares, used, strict=True)
    ]
    for process in processes:
        process.start()
    parts: list[Outcome] = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    total = Outcome()
    for part in parts:
        total.latencies_ms += part.latencies_ms
        for status, n in part.statuses.items():
            total.statuses[status] = total.statuses.get(status, 0) + n
        total.errors += part.errors
        total.ran_out = total.ran_out or part.ran_out
        total.seconds = max(total.seconds, part.seconds)
        total.client_cpu += part.client_cpu
        total.connections += part.connections
    return total
