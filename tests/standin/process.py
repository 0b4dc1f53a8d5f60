"""Running a stand-in server: ``serve`` in this process, ``StandinServer`` in a child process."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import os
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Self

import httpx
import uvicorn

from .app import build_app
from .config import StandinConfig
from .scripts import load_scripts

PORT_PREFIX = "STANDIN_PORT "
REPO_ROOT = Path(__file__).resolve().parents[2]


def _http_protocol() -> str:
    return "httptools" if importlib.util.find_spec("httptools") else "h11"


def _exit_on_stdin_eof() -> None:
    sys.stdin.buffer.read()
    os._exit(0)


def serve(config: StandinConfig, exit_on_stdin_eof: bool = False) -> None:
    """Serve until stopped; print ``STANDIN_PORT <port>`` on stdout once listening."""
    load_scripts(config)
    # proto=IPPROTO_TCP makes asyncio set TCP_NODELAY on accepted sockets (else +40 ms/request)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    sock.listen(4096)
    print(f"{PORT_PREFIX}{sock.getsockname()[1]}", flush=True)
    os.dup2(2, 1)  # anything printed later goes to stderr: nobody reads the stdout pipe
    if exit_on_stdin_eof:  # the parent holds our stdin; it closing (or dying) stops us
        threading.Thread(target=_exit_on_stdin_eof, daemon=True).start()
    uv_config = uvicorn.Config(
        build_app(config),
        loop="asyncio",
        http=_http_protocol(),
        lifespan="off",
        access_log=False,
        log_level="warning",
        backlog=4096,
        timeout_graceful_shutdown=1,
    )
    uvicorn.Server(uv_config).run(sockets=[sock])


class StandinServer:
    """A stand-in server in its own process.

    ``with StandinServer(StandinConfig(latency_s=0.1)) as server:`` then point the client at
    ``server.base_url``; read ``server.stats()``; script with ``server.reconfigure(...)``.
    """

    def __init__(self, config: StandinConfig | None = None, start_timeout_s: float = 30.0) -> None:
        self.config = config or StandinConfig()
        self.start_timeout_s = start_timeout_s
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Root URL (control endpoints live here)."""
        if self.port is None:
            raise RuntimeError("stand-in server is not running")
        return f"http://{self.config.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    def start(self) -> Self:
        """Launch the server process and wait until it answers."""
        if self._proc is not None:
            raise RuntimeError("stand-in server already started")
        path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.standin",
                "--config",
                self.config.to_json(),
                "--exit-on-stdin-eof",
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": path},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + self.start_timeout_s
            self.port = self._read_port(deadline)
            self._wait_ready(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _read_port(self, deadline: float) -> int:
        assert self._proc is not None and self._proc.stdout is not None
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([self._proc.stdout], [], [], left)[0]:
                break
            line = self._proc.stdout.readline().decode()
            if not line:
                raise RuntimeError(
                    f"stand-in server exited with {self._proc.wait()} (its stderr says why)"
                )
            if line.startswith(PORT_PREFIX):
                return int(line[len(PORT_PREFIX) :])
        raise TimeoutError("stand-in server did not announce its port")

    def _wait_ready(self, deadline: float) -> None:
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        while True:
            try:
                httpx.get(f"{self.base_url}/models", headers=headers, timeout=2.0)
                return
            except httpx.TransportError:
                if (
                    time.monotonic() > deadline
                    or self._proc is None
                    or self._proc.poll() is not None
                ):
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server process (idempotent)."""
        proc, self._proc, self.port = self._proc, None, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> Self:
        return self if self._proc is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _control(self, method: str, path: str, payload: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}{path}", json=payload, timeout=10.0)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        """``GET /_stats``: ``total``, ``by_role`` {role: {outcome: n}}, ``by_outcome``,
        ``by_status`` {"200": n}, ``in_flight``, ``max_in_flight``, ``first_t``, ``last_t``."""
        return dict(self._control("GET", "/_stats"))

    def requests(self) -> list[dict[str, Any]]:
        """``GET /_requests``: one {t, role, status, outcome[, body]} per request, in order."""
        return list(self._control("GET", "/_requests")["requests"])

    def reset(self) -> None:
        """``POST /_reset``."""
        self._control("POST", "/_reset")

    def reconfigure(self, config: StandinConfig | None = None, **changes: Any) -> None:
        """``POST /_config``: switch to ``config`` (default: the current one) with ``changes``
        applied, in place (host and port stay), then reset log, counters and positions."""
        new = dataclasses.replace(config or self.config, **changes)
        fields = dataclasses.asdict(new)
        for fixed in ("host", "port"):
            fields.pop(fixed)
        self._control("POST", "/_config", fields)
        self.config = dataclasses.replace(new, host=self.config.host, port=self.config.port)


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.standin --config JSON``."""
    doc = importlib.import_module(__package__ or "tests.standin").__doc__  # the server's manual
    parser = argparse.ArgumentParser(
        prog="python -m tests.standin", description=doc.splitlines()[0] if doc else None
    )
    parser.add_argument("--config", default="{}", help="a StandinConfig as JSON")
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="exit when stdin closes (the parent went away)",
    )
    args = parser.parse_args(argv)
    serve(StandinConfig.from_json(args.config), exit_on_stdin_eof=args.exit_on_stdin_eof)
