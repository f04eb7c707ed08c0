"""A hostile HTTP server on 127.0.0.1 (stdlib only): each request is answered by a function
that writes the raw response itself, so it can drip, stream without end, redirect, or echo
the credential back in any encoding.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    def token(self, param: str | None) -> str:
        """The credential the client sent (query parameter or Bearer header)."""
        if param:
            return self.query.get(param, "")
        return self.headers.get("Authorization", "").removeprefix("Bearer ")


class Answer:
    """What the handler can do: a plain answer, or write the raw stream itself."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self.h = handler
        self.sent = 0

    def json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.text(status, body if isinstance(body, str) else json.dumps(body), headers)

    def text(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        payload = text.encode()
        self.h.send_response(status)
        self.h.send_header("Content-Type", "application/json")
        self.h.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            self.h.send_header(k, v)
        self.h.end_headers()
        self.h.wfile.write(payload)

    def redirect(self, location: str) -> None:
        self.h.send_response(302)
        self.h.send_header("Location", location)
        self.h.send_header("Content-Length", "0")
        self.h.end_headers()

    def drip_headers(self, pause: float) -> None:
        """A status line, then a header that never ends, a byte every `pause` seconds."""
        try:
            self.h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Pad: ")
            while True:
                self.h.wfile.write(b"a")
                self.h.wfile.flush()
                self.sent += 1
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def stream(self, chunks: Iterator[bytes], length: int | None, pause: float = 0.0) -> None:
        """Send chunks as they are made (never held whole); stops when the client leaves."""
        self.h.send_response(200)
        self.h.send_header("Content-Type", "application/json")
        if length is not None:
            self.h.send_header("Content-Length", str(length))
        else:
            self.h.close_connection = True  # the body ends when the connection does
        self.h.end_headers()
        try:
            for chunk in chunks:
                self.h.wfile.write(chunk)
                self.h.wfile.flush()
                self.sent += len(chunk)
                if pause:
                    time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass


Behaviour = Callable[[Request, Answer], None]


class HostileServer:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests: list[Request] = []
        self.answers: list[Answer] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                req = Request(
                    self.command,
                    parts.path,
                    {k: v[-1] for k, v in parse_qs(parts.query).items()},
                    dict(self.headers.items()),
                    json.loads(raw) if raw else None,
                )
                answer = Answer(self)
                server.requests.append(req)
                server.answers.append(answer)
                server.behaviour(req, answer)

            do_GET = _handle
            do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def encodings(token: str) -> dict[str, str]:
    """Every form a hostile API may echo a token in."""
    escaped = json.dumps(token)[1:-1]
    return {
        "literal": token,
        "percent": quote(token, safe=""),
        "plus": quote_plus(token),
        "json": escaped,
        "json-slash": escaped.replace("/", "\\/"),
        "json-unicode": "".join(f"\\u{u:04x}" for u in utf16_units(token)),
        "base64": base64.b64encode(token.encode()).decode(),
        "base64-inside": base64.b64encode(b"user:" + token.encode()).decode(),
    }


def utf16_units(text: str) -> list[int]:
    data = text.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def echo_text(token: str) -> str:
    """A message with the token in every form, the literal one straddling characters 200
    and 300 (where error messages get cut)."""
    forms = " ".join(f"{k}={v}" for k, v in encodings(token).items())
    pad200 = "x" * (200 - len(token) // 2)
    pad300 = "y" * (100 - len(token))
    return f"{pad200}{token}{pad300}{token} {forms}"
