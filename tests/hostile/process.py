"""Running the hostile server: ``serve`` in this process, ``HostileServer`` in a child process."""

from __future__ import annotations

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

from tests.hostile.app import build_app

PORTS_PREFIX = "HOSTILE_PORTS "
REPO_ROOT = Path(__file__).resolve().parents[2]


def _exit_on_stdin_eof() -> None:
    sys.stdin.buffer.read()
    os._exit(0)


def serve() -> None:
    """Listen on two free loopback ports, print them, serve until stdin closes."""
    sockets = []
    for _ in range(2):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        sock.listen(256)
        sockets.append(sock)
    ports = [s.getsockname()[1] for s in sockets]
    print(PORTS_PREFIX + " ".join(map(str, ports)), flush=True)
    os.dup2(2, 1)
    threading.Thread(target=_exit_on_stdin_eof, daemon=True).start()
    config = uvicorn.Config(build_app(ports), loop="asyncio", lifespan="off", access_log=False,
                            log_level="warning", timeout_graceful_shutdown=1)
    uvicorn.Server(config).run(sockets=sockets)


class HostileServer:
    """The hostile server in a child process (stopped with the block, or when this process dies)."""

    def __init__(self, start_timeout_s: float = 30.0) -> None:
        self.start_timeout_s = start_timeout_s
        self.ports: list[int] = []
        self._proc: subprocess.Popen[bytes] | None = None

    def base_url(self, behaviour: str, port_index: int = 0) -> str:
        """The OpenAI base URL of one behaviour."""
        return f"http://127.0.0.1:{self.ports[port_index]}/{behaviour}/v1"

    def start(self) -> Self:
        path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen([sys.executable, "-m", "tests.hostile"], cwd=REPO_ROOT,
                                      env={**os.environ, "PYTHONPATH": path},
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            self.ports = self._read_ports(time.monotonic() + self.start_timeout_s)
            self.requests()  # answers: ready
        except BaseException:
            self.stop()
            raise
        return self

    def _read_ports(self, deadline: float) -> list[int]:
        assert self._proc is not None and self._proc.stdout is not None
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([self._proc.stdout], [], [], left)[0]:
                break
            line = self._proc.stdout.readline().decode()
            if not line:
                raise RuntimeError(f"hostile server exited with {self._proc.wait()}")
            if line.startswith(PORTS_PREFIX):
                return [int(p) for p in line.removeprefix(PORTS_PREFIX).split()]
        raise TimeoutError("hostile server did not announce its ports")

    def requests(self, behaviour: str | None = None) -> list[dict[str, Any]]:
        """Every request so far (of one behaviour, when named), oldest first."""
        reply = httpx.get(f"http://127.0.0.1:{self.ports[0]}/_requests", timeout=10.0)
        reply.raise_for_status()
        found = reply.json()["requests"]
        return [r for r in found if behaviour is None or r["behaviour"] == behaviour]

    def stop(self) -> None:
        proc, self._proc = self._proc, None
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
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main() -> None:
    serve()
