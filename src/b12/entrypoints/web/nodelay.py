"""uvicorn's HTTP protocol with ``TCP_NODELAY`` on every connection, whatever the socket.

With ``--workers`` 2 or more, uvicorn binds the listening socket itself as
``socket.socket(family=...)`` (protocol number 0).  asyncio only sets ``TCP_NODELAY`` on
accepted sockets whose protocol is ``IPPROTO_TCP``, so every connection those workers accept
keeps Nagle's algorithm, and a keep-alive response waits for the client's delayed ACK: about
40 ms added to each request on Linux (Kludex/uvicorn#3149).  This protocol sets the option on
each connection as it is made, so one worker and many behave the same.

:class:`WorkerListener` gives each worker its own listening socket (``SO_REUSEPORT``) so that
connections are shared out between the workers.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

_Base: Any = AutoHTTPProtocol


def enable_nodelay(transport: asyncio.BaseTransport) -> bool:
    """Set ``TCP_NODELAY`` on the transport's TCP socket; False when it is not TCP."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        return False
    return True


class NoDelayHTTPProtocol(_Base):  # type: ignore[misc]
    """uvicorn's default HTTP/1.1 protocol, with ``TCP_NODELAY`` set on connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        enable_nodelay(transport)
        super().connection_made(transport)


# -- one listening socket per worker -------------------------------------------------------------


def reuseport_listener(host: str, port: int, backlog: int) -> socket.socket:
    """A TCP socket listening on ``host:port`` with ``SO_REUSEPORT``: several processes may each
    have one, and the kernel spreads new connections over them by a hash of the addresses."""
    family, kind, _proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[
        0
    ]
    sock = socket.socket(family, kind, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class WorkerListener(socket.socket):
    """What ``b12 serve --workers N`` hands uvicorn's supervisor instead of a bound socket.

    uvicorn's multi-worker mode binds one socket in the parent and gives it to every worker.
    All workers wait on it, and the worker that is awake when connections arrive accepts them
    in a burst: with 2 workers and 32 keep-alive clients one worker held 31 connections and the
    other 1 (counted in ``/proc``), so a second worker added nothing.  This placeholder is
    never bound; when a worker process is started it is unpickled as that worker's own
    :func:`reuseport_listener` on the same address, so each worker has its own accept queue
    and the kernel shares the connections out.  Linux only lets processes of the same user
    join such a group.
    """

    def __init__(self, host: str, port: int, backlog: int) -> None:
        super().__init__(socket.AF_INET, socket.SOCK_STREAM)
        self.spec = (host, port, backlog)

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, tuple[str, int, int]]:
        return (reuseport_listener, self.spec)


def reuseport_supported() -> bool:
    """Whether this system has ``SO_REUSEPORT`` (Linux, the BSDs, macOS)."""
    return hasattr(socket, "SO_REUSEPORT")
