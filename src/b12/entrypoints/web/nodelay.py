"""uvicorn's HTTP protocol with ``TCP_NODELAY`` on every connection, whatever the socket.

With ``--workers`` 2 or more, uvicorn binds the listening socket itself as
``socket.socket(family=...)`` (protocol number 0).  asyncio only sets ``TCP_NODELAY`` on
accepted sockets whose protocol is ``IPPROTO_TCP``, so every connection those workers accept
keeps Nagle's algorithm, and a keep-alive response waits for the client's delayed ACK: about
40 ms added to each request on Linux (Kludex/uvicorn#3149).  This protocol sets the option on
each connection as it is made, so one worker and many behave the same.
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
