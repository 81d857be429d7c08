"""``b12 serve``: one worker per core by default, and TCP_NODELAY on every connection.

The multi-worker case binds its listening socket the way uvicorn does (``socket.socket(family)``,
protocol number 0), whose accepted connections asyncio leaves with Nagle's algorithm on.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

from b12.entrypoints.serve_cli import default_workers
from b12.entrypoints.web.nodelay import NoDelayHTTPProtocol, enable_nodelay
from tests.live_server import LiveServer


def _nodelay_of_accepted(*, fix: bool) -> int:
    """Serve on a socket bound as uvicorn's multi-worker mode binds it; NODELAY of a connection."""

    async def run() -> int:
        listener = socket.socket(family=socket.AF_INET)  # proto 0, as uvicorn's bind_socket
        listener.bind(("127.0.0.1", 0))
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                if fix:
                    enable_nodelay(transport)
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        port = listener.getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(seen, 5)
        finally:
            writer.close()
            server.close()

    return asyncio.run(run())


def test_a_proto_zero_listener_loses_nodelay_without_the_fix() -> None:
    assert _nodelay_of_accepted(fix=False) == 0


def test_enable_nodelay_sets_it_on_such_a_connection() -> None:
    assert _nodelay_of_accepted(fix=True) != 0


def test_the_protocol_is_uvicorns_http_protocol_calling_enable_nodelay() -> None:
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    assert issubclass(NoDelayHTTPProtocol, AutoHTTPProtocol)
    assert "enable_nodelay" in NoDelayHTTPProtocol.connection_made.__code__.co_names


def test_one_worker_per_available_core_by_default() -> None:
    assert default_workers() == len(os.sched_getaffinity(0))


def test_serve_help_documents_the_default() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "b12.entrypoints.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    assert "one per CPU core" in out


def _worker_processes(pid: int) -> int:
    """Children of ``pid`` started by multiprocessing's spawn (uvicorn's workers)."""
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        count += ppid == pid and b"spawn_main" in cmdline
    return count


def test_a_two_worker_server_runs_two_workers_on_one_port(tmp_path: Path) -> None:
    import httpx

    server = LiveServer(f"sqlite:///{tmp_path / 'w.sqlite3'}", workers=2)
    server.start(log_path=tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            assert all(client.get("/health").status_code == 200 for _ in range(10))
        assert server.process is not None
        assert _worker_processes(server.process.pid) == 2
    finally:
        server.stop()
    # each worker process logs its requests as one process does (route template, status)
    assert (tmp_path / "serve.log").read_text().count("b12.web GET /health 200 ") >= 10


def _worker_pids(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def _sockets(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count


def test_keep_alive_connections_are_shared_out_between_the_workers(tmp_path: Path) -> None:
    """Each worker has its own listening socket: 32 connections do not all go to one worker."""
    with LiveServer(f"sqlite:///{tmp_path / 'w.sqlite3'}", workers=2) as server:
        assert server.process is not None
        workers = _worker_pids(server.process.pid)
        assert len(workers) == 2
        before = {pid: _sockets(pid) for pid in workers}
        connections = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(32)]
        try:
            for conn in connections:  # one request each, so every connection has been accepted
                conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            for conn in connections:
                assert conn.recv(4096).startswith(b"HTTP/1.1 200")
            held = [_sockets(pid) - before[pid] for pid in workers]
        finally:
            for conn in connections:
                conn.close()
    assert sum(held) == 32
    assert min(held) >= 4, held
