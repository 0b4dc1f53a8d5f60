"""A tiny HTTP listener on 127.0.0.1 that records every request it gets (method, path, headers)
and answers each with a 500: where an attacker would point a studio's chat model."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    """One request the listener got."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Listener:
    """The listener's address and what it has seen."""

    url: str
    seen: list[Seen] = field(default_factory=list)

    def authorizations(self) -> list[str]:
        """The Authorization headers of every request seen."""
        return [s.headers.get("authorization", "") for s in self.seen]


@contextmanager
def listening() -> Iterator[Listener]:
    """A listener for the `with` block; `url` ends in /v1 like an OpenAI-compatible base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    found = Listener(f"http://127.0.0.1:{server.server_address[1]}/v1")
    server.seen = found.seen  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    def _record(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 20))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.seen.append(Seen(self.command, self.path, headers))  # type: ignore[attr-defined]
        body = b'{"error": {"message": "listener"}}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _record

    def log_message(self, *_args: object) -> None:
        """Quiet: the test reads `seen`."""
