"""llama.cpp's OpenAI-compatible server (llama-cpp-python's) for a GGUF file, run by Kindling.

`LlamaServer` starts `python -m kindling.agents.llm.llama_server` in a child process: the child
binds a free loopback port (or the one asked for), prints it, loads the model into llama-cpp-python's own
FastAPI app and serves it with uvicorn. The parent waits until `/v1/models` answers, keeps the
child's output in a log file, and stops it when told, at exit, or by dying: the child watches its
stdin (a pipe the parent holds) and exits when it closes, which a kill -9 of the parent does too,
so no server outlives the command that started it.

The server keeps recent prompts' evaluated state in RAM (llama.cpp's prompt cache, see
`prompt_cache`) unless told `--prompt-cache-mib 0`: agents send one call at a time, each role's
prompt starting with the same instructions, and the cache evaluates those once, not per item.
With `--prompt-disk-mib N` it also keeps the first evaluation of each new prompt start on disk
(`prompt_disk`), so the next command on the same model does not evaluate them again.
"""

from __future__ import annotations

import argparse
import atexit
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

import httpx
from kindling.agents.llm.notices import notice
from kindling.store.errors import UserError

PORT_PREFIX = "KINDLING_LLAMA_PORT "
READY_TIMEOUT_S = 120.0
GGUF_MAGIC = b"GGUF"


class LlamaServerError(UserError):
    """The server could not start (no such file, a port in use, llama.cpp failing to load)."""


class LlamaServer:
    """One llama.cpp server on 127.0.0.1 for one GGUF file; `base_url` once started."""

    def __init__(self, model_path: Path, *, alias: str, n_ctx: int = 4096, n_threads: int = 0,
                 port: int = 0, log_path: Path | None = None, prompt_cache_mib: int = 0,
                 prompt_disk_mib: int = 0) -> None:
        self.model_path, self.alias, self.n_ctx, self.n_threads = model_path, alias, n_ctx, n_threads
        self.prompt_cache_mib = prompt_cache_mib  # 0: no prompt cache
        self.prompt_disk_mib = prompt_disk_mib  # 0: nothing kept on disk between commands
        self.requested_port = port
        self.port: int | None = None
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"kindling-llama-{os.getpid()}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the llama.cpp server is not running")
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlamaServer:
        """Start the child and wait until it answers.

        Raises:
            LlamaServerError: the GGUF is missing or not a GGUF file, the port is taken, or the
                server does not come up (the message points at its log).
        """
        check_gguf(self.model_path)
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._log)
        atexit.register(self.stop)
        try:
            with notice(f"starting the local llama.cpp server ({self.model_path.name})"):
                self.port = self._read_port()
                self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def command(self) -> list[str]:
        """The child's command line."""
        return [sys.executable, "-m", "kindling.agents.llm.llama_server",
                "--model", str(self.model_path), "--alias", self.alias, "--n-ctx", str(self.n_ctx),
                "--n-threads", str(self.n_threads), "--port", str(self.requested_port),
                "--prompt-cache-mib", str(self.prompt_cache_mib),
                "--prompt-disk-mib", str(self.prompt_disk_mib)]

    def _read_port(self) -> int:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise LlamaServerError(f"the llama.cpp server exited at start: {self._tail()}")
            ready, _, _ = select.select([self._proc.stdout], [], [], 0.2)
            if ready:
                line = self._proc.stdout.readline().decode(errors="replace")
                if line.startswith(PORT_PREFIX):
                    return int(line.removeprefix(PORT_PREFIX))
        raise LlamaServerError(f"the llama.cpp server did not start in {READY_TIMEOUT_S:.0f} s "
                               f"(log: {self.log_path})")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise LlamaServerError(f"the llama.cpp server died while loading: {self._tail()}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise LlamaServerError(f"the llama.cpp server did not answer in {READY_TIMEOUT_S:.0f} s "
                               f"(log: {self.log_path})")

    def _tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return f"see {self.log_path}"
        return (lines[-1] if lines else "no output") + f" (log: {self.log_path})"

    def stop(self) -> None:
        """Stop the child (stdin closed, then SIGTERM, then SIGKILL); safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        self.port = None

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def check_gguf(path: Path) -> None:
    """Refuse a path that is not a GGUF file (its first four bytes are b"GGUF") before llama.cpp
    is started on it: llama.cpp itself only dies while loading.

    Raises:
        LlamaServerError: no such file, or a file of another kind.
    """
    if not path.is_file():
        raise LlamaServerError(f"GGUF file {path} does not exist")
    try:
        with path.open("rb") as file:
            magic = file.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise LlamaServerError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if magic != GGUF_MAGIC:
        raise LlamaServerError(f"{path} is not a GGUF file (it does not start with the bytes "
                               "GGUF); point the model at a .gguf model file")


def _exit_on_stdin_eof() -> None:
    sys.stdin.buffer.read()
    os._exit(0)


def model_settings(args: argparse.Namespace) -> Any:
    """llama-cpp-python's `ModelSettings` for the child's arguments."""
    from llama_cpp.server.settings import ModelSettings

    # logits_all off: llama-cpp-python's server defaults it on, which computes and keeps the
    # vocabulary's logits for every prompt token (an n_ctx x n_vocab array; only `logprobs`
    # needs them and Kindling never asks): a fifth of SmolLM2's prompt evaluation on 2 cores
    return ModelSettings(model=args.model, model_alias=args.alias, n_ctx=args.n_ctx,
                         n_threads=args.n_threads or max(1, os.cpu_count() or 1),
                         logits_all=False, verbose=False, cache=args.prompt_cache_mib > 0,
                         cache_type="ram", cache_size=args.prompt_cache_mib << 20)


def keep_prompts(settings: Any, disk_mib: int = 0) -> str:
    """Put Kindling's `KeptPromptCache` in place of the cache llama-cpp-python's server built
    for `settings` (see `prompt_cache`), keeping new prompt starts on disk too with `disk_mib`;
    what is kept, for the log."""
    if not settings.cache:
        return "prompt cache: off"
    from kindling.agents.llm.prompt_cache import KeptPromptCache, keep_logits_row
    from kindling.agents.llm.prompt_disk import DiskPromptStates, prompt_states_folder
    from llama_cpp.server import app as server_app

    # the server's one model holder, which create_app fills; it has no public getter outside
    # a request, and without it the server keeps its own cache (logits copies uncounted)
    proxy = getattr(server_app, "_llama_proxy", None)
    if proxy is None:
        return f"prompt cache: llama-cpp-python's own, {settings.cache_size >> 20} MiB of state"
    llama = proxy(settings.model_alias)
    if not settings.logits_all:  # with logits kept per token, `logprobs` reads the buffer
        keep_logits_row(llama)
    disk = None
    if disk_mib > 0:
        folder = prompt_states_folder(Path(settings.model), settings.n_ctx)
        try:
            disk = DiskPromptStates(folder, capacity_bytes=disk_mib << 20)
        except OSError as exc:  # a read-only home: the RAM cache still works
            print(f"prompt states not kept on disk: {folder}: {exc.strerror or exc}",
                  file=sys.stderr)
    llama.set_cache(KeptPromptCache(settings.cache_size, disk=disk, llama=llama))
    kept = f"prompt cache: {settings.cache_size >> 20} MiB in RAM"
    return kept if disk is None else f"{kept}, new prompt starts kept in {disk.folder}"


def serve(args: argparse.Namespace) -> None:
    """The child: bind, report the port, load the model, serve until stdin closes."""
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ServerSettings

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", args.port))
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        raise SystemExit(2) from exc
    sock.listen(128)
    threading.Thread(target=_exit_on_stdin_eof, daemon=True).start()
    print(f"{PORT_PREFIX}{sock.getsockname()[1]}", flush=True)
    model = model_settings(args)
    app = create_app(server_settings=ServerSettings(host="127.0.0.1", port=0),
                     model_settings=[model])
    print(keep_prompts(model, args.prompt_disk_mib), file=sys.stderr, flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The child's arguments (`LlamaServer.command` writes them)."""
    parser = argparse.ArgumentParser(description="Serve a GGUF with llama.cpp (for Kindling).")
    parser.add_argument("--model", required=True)
    parser.add_argument("--alias", required=True)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--n-threads", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--prompt-cache-mib", type=int, default=0,
                        help="RAM for llama.cpp's prompt cache in MiB (0: no cache)")
    parser.add_argument("--prompt-disk-mib", type=int, default=0,
                        help="disk for prompt states kept between commands in MiB (0: none)")
    return parser.parse_args(argv)


def main() -> None:
    serve(parse_args())


if __name__ == "__main__":
    main()
