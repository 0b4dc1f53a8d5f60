"""Kindling's own llama.cpp server (llama-cpp-python's, serving the SmolLM2 GGUF): start,
readiness, stop, a port already taken, no orphan after the parent is killed, and its prompt
cache."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.endpoints import gguf_path
from kindling.agents.llm.llama_server import LlamaServer, LlamaServerError
from kindling.agents.llm.prompt_cache import KeptPromptCache, keep_logits_row
from llama_cpp import Llama

REPO = Path(__file__).resolve().parents[2]


def smollm2() -> Path:
    path = gguf_path(LLMConfig(backend="local", model="smollm2"))
    assert path is not None and path.is_file()
    return path


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")


def test_start_answer_stop(tmp_path: Path) -> None:
    server = LlamaServer(smollm2(), alias="smollm2", log_path=tmp_path / "llama.log").start()
    try:
        models = httpx.get(f"{server.base_url}/models", timeout=5).json()
        assert [m["id"] for m in models["data"]] == ["smollm2"]
        reply = httpx.post(f"{server.base_url}/chat/completions", timeout=60, json={
            "model": "smollm2", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
        assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"]
        port = server.port
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)
    server.stop()  # twice is fine
    assert "prompt cache: off" in (tmp_path / "llama.log").read_text()


RULES = "\n".join(f"{i}. A good slogan names rule number {i} of the brand's promise, plainly."
                  for i in range(1, 25))


def asked(server: LlamaServer, role: str, item: str) -> float:
    """Seconds to answer one token to a long fixed `role` text followed by `item`."""
    started = time.perf_counter()
    reply = httpx.post(f"{server.base_url}/chat/completions", timeout=300, json={
        "model": "smollm2", "max_tokens": 1, "temperature": 0, "messages": [
            {"role": "user", "content": f"You are the {role}.\n{RULES}\nSlogan: {item}"}]})
    assert reply.status_code == 200, reply.text
    return time.perf_counter() - started


def test_the_prompt_cache_evaluates_a_shared_start_once(tmp_path: Path) -> None:
    """A prompt that starts like one answered two requests back (another role's in between, so
    llama.cpp's reuse of the last prompt alone would not help) is evaluated from the item on."""
    log = tmp_path / "llama.log"
    with LlamaServer(smollm2(), alias="smollm2", log_path=log, prompt_cache_mib=256) as server:
        cold = asked(server, "advocate", "Light that lasts.")
        asked(server, "critic", "Light that lasts.")
        warm = asked(server, "advocate", "Ride on, all week.")
    assert "prompt cache: 256 MiB in RAM" in log.read_text()
    assert warm < cold / 2, (cold, warm)


def test_the_next_server_starts_from_the_prompt_start_kept_on_disk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A role's instructions evaluated by one command's server are not evaluated again by the
    next command's: its first call loads them from ~/.cache (here a temp XDG_CACHE_HOME)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    log = tmp_path / "llama.log"
    kept = {"alias": "smollm2", "log_path": log, "prompt_cache_mib": 256, "prompt_disk_mib": 64}
    with LlamaServer(smollm2(), **kept) as server:
        cold = asked(server, "advocate", "Light that lasts.")
    files = list((tmp_path / "cache" / "kindling" / "llama-prompts").glob("*/*.npz"))
    assert len(files) == 1
    with LlamaServer(smollm2(), **kept) as server:
        warm = asked(server, "advocate", "Ride on, all week.")
    assert "new prompt starts kept in" in log.read_text()
    assert warm < cold / 2, (cold, warm)


def test_a_port_already_taken_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(LlamaServerError, match=f"cannot listen on 127.0.0.1:{port}"):
            LlamaServer(smollm2(), alias="smollm2", port=port,
                        log_path=tmp_path / "llama.log").start()


def test_a_missing_gguf_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LlamaServerError, match="does not exist"):
        LlamaServer(tmp_path / "none.gguf", alias="x").start()


def test_no_orphan_after_the_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from kindling.agents.llm.llama_server import LlamaServer;"
         f"s = LlamaServer(Path({str(smollm2())!r}), alias='smollm2').start();"
         "print(s._proc.pid, s.port, flush=True); time.sleep(600)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child_pid, port = map(int, parent.stdout.readline().split())
    assert alive(child_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 15
    while alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child_pid), "the llama.cpp server outlived its parent"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)


def test_a_state_kept_with_one_logits_row_answers_as_a_fresh_evaluation() -> None:
    """The cache as the server runs it (one logits row, Kindling's cache) gives a prompt whose
    start it kept the tokens a model evaluating it from scratch gives."""
    prompts = [f"You are the {role}.\n{RULES[:600]}\nSlogan: {item}" for role, item in (
        ("advocate", "Light that lasts."), ("critic", "Light that lasts."),
        ("advocate", "Ride on, all week."))]
    cached = Llama(str(smollm2()), n_ctx=512, logits_all=False, verbose=False)
    keep_logits_row(cached)
    cached.set_cache(KeptPromptCache(capacity_bytes=64 << 20))
    answers = [cached.create_completion(p, max_tokens=6, temperature=0)["choices"][0]["text"]
               for p in prompts]
    fresh = Llama(str(smollm2()), n_ctx=512, logits_all=False, verbose=False)
    assert answers[-1] == fresh.create_completion(prompts[-1], max_tokens=6,
                                                  temperature=0)["choices"][0]["text"]
    kept = list(cached.cache.cache_state.values())  # type: ignore[union-attr]
    assert len(kept) == 3 and {state.scores.shape[0] for state in kept} == {1}
