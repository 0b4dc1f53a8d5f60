"""A stand-in for the upstream file host (a test double): serves given files over real HTTP
under ``/dataset/<relative path>`` and records every request, so a test can tell whether a
download asked for anything at all.

Example::

    with UpstreamFilesStandIn({"sft/sft_data.json": b"[]"}) as server:
        fetch_upstream(cache, base_url=server.base_url, expected={...})
        assert server.requests == ["/dataset/sft/sft_data.json"]
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class UpstreamFilesStandIn:
    """Serves `files` (relative path → bytes) on a loopback port, in a thread of this process;
    anything else is a 404. `requests` lists the paths asked for, in order."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = dict(files)
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The URL of the served `dataset/` folder (what `KINDLING_UPSTREAM_URL` takes)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/dataset"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                standin.requests.append(self.path)
                body = standin.files.get(self.path.removeprefix("/dataset/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
