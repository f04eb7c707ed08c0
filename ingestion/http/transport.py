"""The session a client sends through: one connection pool sized to the account workers,
and a watchdog that holds each request to its deadline.

A socket timeout only bounds each read: a server that drips its status line, headers or
body a byte at a time never trips it. The watchdog shuts the request's socket down when
the deadline passes, whatever phase the request is in.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_WATCHED = threading.local()  # the sockets of the request this thread is sending


@contextmanager
def deadline_watch(seconds: float) -> Iterator[Callable[[], bool]]:
    """Shut the socket of the request sent inside this block down after `seconds`; yields
    a function telling whether that happened."""
    sockets: list[socket.socket] = []
    fired = threading.Event()

    def fire() -> None:
        fired.set()
        for sock in list(sockets):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    _WATCHED.sockets = sockets
    timer.start()
    try:
        yield fired.is_set
    finally:
        timer.cancel()
        _WATCHED.sockets = None


def _watch(conn: HTTPConnection) -> None:
    sockets = getattr(_WATCHED, "sockets", None)
    if sockets is not None and conn.sock is not None:
        sockets.append(conn.sock)


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch(self)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch(self)
        return super().getresponse(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def new_session(pool_size: int) -> requests.Session:
    """One session per platform, its connection pool sized to the account workers."""
    session = requests.Session()
    adapter = _WatchedAdapter(pool_connections=2, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
