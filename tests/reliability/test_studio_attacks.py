"""The studio's write API probed like an attacker (issue 22), through FastAPI's TestClient over a
small store and a project folder holding a few configs, a file of secrets beside it, a link out of
the folder, a device, a FIFO and an oversized file.

Each probe checks what the attacker is after, not only the status: a listener standing where the
attacker points a chat model must get no request (or none carrying the planted value), and no
response may carry the planted key variable's value or a line of a file the studio must not show.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from kindling.store.db import Store

from kindling.studio.app import create_app
from tests.fakes import seed_tiny_data
from tests.reliability.listener import Listener, listening

pytestmark = pytest.mark.reliability

BASE = "http://127.0.0.1:8765"
ORIGIN = {"Origin": BASE}
PLANTED_VAR = "KINDLING_AUDIT_PLANTED"
PLANTED = "planted-VALUE-7f3c9e1d2b44"
PROJECT_VAR = "KINDLING_AUDIT_PROJECT_KEY"
PROJECT_KEY = "project-VALUE-5a8b0c6e11"
SECRET = "SECRET_LINE_d41d8cd98f"
"""A line of files the studio must never show (outside the project, and an unusable one in it)."""
JUDGE_ITEM = {"graph": "judge", "query": "生日祝福", "response": "生日快乐"}
MAX_ID = 2**63 - 1


@dataclass
class Project:
    root: Path
    outside: Path
    store_url: str


@dataclass
class Probe:
    """A client that keeps every response's text, to look for secrets in all of them."""

    client: TestClient
    texts: list[str] = field(default_factory=list)

    def post(self, path: str, body: Any) -> Any:
        answer = self.client.post(path, json=body, headers=ORIGIN)
        self.texts.append(answer.text)
        return answer

    def get(self, path: str) -> Any:
        answer = self.client.get(path)
        self.texts.append(answer.text)
        return answer

    def start_and_continue(self, body: dict[str, Any]) -> Any:
        """Start a debug session; when it starts, drive it as an attacker would (continue),
        waiting for each action, which runs in the background, to end."""
        started = self.post("/api/debug/sessions", body)
        if started.status_code == 201:
            session = started.json()["id"]
            for _ in range(5):
                view = self.get(f"/api/debug/sessions/{session}?wait=30")
                if view.status_code != 200 or view.json()["ended"]:
                    break
                self.post(f"/api/debug/sessions/{session}", {"action": "continue"})
            self.get(f"/debug/{session}")
        return started

    def assert_no_secrets(self) -> None:
        for text in self.texts:
            for secret in (PLANTED, PROJECT_KEY, SECRET):
                assert secret not in text, f"{secret!r} in a response: {text[:300]}"


@pytest.fixture(scope="module")
def project_endpoint() -> Iterator[Listener]:
    """Where the project's own judge config points (a listener answering 500)."""
    with listening() as found:
        yield found


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, project_endpoint: Listener) -> Project:
    top = tmp_path_factory.mktemp("studio-attacks")
    outside, root = top / "outside", top / "project"
    (root / "configs").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.yaml").write_text(f"{SECRET}: 1\nname: x\nkind: detector\n",
                                         encoding="utf-8")
    (root / "judge_endpoint.yaml").write_text(
        "llm:\n  backend: openai\n  model: standin\n"
        f"  base_url: {project_endpoint.url}\n  api_key_env: {PROJECT_VAR}\n"
        "  timeout_s: 2\n  max_retries: 0\n  parse_attempts: 1\n", encoding="utf-8")
    (root / "configs" / "curate_small.yaml").write_text("limit: 1\n", encoding="utf-8")
    (root / "notes.yaml").write_text(f"{SECRET}: 1\nroot_hash: x\n", encoding="utf-8")
    (root / "big.yaml").write_text("limit: 1\n" + "#" * 300_000 + "\n", encoding="utf-8")
    (root / "configs" / "escape.yaml").symlink_to(outside / "secret.yaml")
    (root / "configs" / "zero.yaml").symlink_to("/dev/zero")
    os.mkfifo(root / "configs" / "pipe.yaml")
    store_url = f"sqlite:///{top / 'kindling.db'}"
    store = Store(store_url)
    seed_tiny_data(store, [("生日祝福", "生日快乐", 0)])
    store.close()
    return Project(root, outside, store_url)


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PLANTED_VAR, PLANTED)
    monkeypatch.setenv(PROJECT_VAR, PROJECT_KEY)


@contextmanager
def studio(project: Project, *, allow: bool = False) -> Iterator[Probe]:
    app = create_app(project.store_url, project=project.root, allow_endpoint_overrides=allow)
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as client:
        yield Probe(client)


@contextmanager
def memory_cap(extra: int) -> Iterator[None]:
    """Cap this process's address space at its present size + `extra` bytes for the block, so an
    unbounded read fails the test (a MemoryError, a 500) instead of exhausting the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    cap = pages * os.sysconf("SC_PAGE_SIZE") + extra
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY
                                            else min(cap, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


_OPENED: list[str] | None = None
"""While a list, every path this process opens (an audit hook records it)."""


def _record_open(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _OPENED is not None and isinstance(args[0], str | bytes | Path):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_record_open)  # audit hooks stay for the process: it records only when asked


@contextmanager
def opened_paths() -> Iterator[list[str]]:
    """The paths this process opens during the block (resolved)."""
    global _OPENED
    _OPENED = []
    found = _OPENED
    try:
        yield found
    finally:
        _OPENED = None
        found[:] = [os.path.realpath(p) for p in found]


def within(seconds: float, call: Callable[[], Any]) -> Any:
    """`call()`, failing the test when it has not answered in `seconds` (a blocking read)."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    if not out:
        pytest.fail(f"no answer in {seconds} s: the studio blocked on a read")
    return out[0]


ATTACKS = {
    "every endpoint field, on the defaults": (None, [
        "llm.backend=openai", "llm.base_url={url}", "llm.model=m", f"llm.api_key_env={PLANTED_VAR}"]),
    "the section as one mapping": (None, [
        f"llm={{backend: openai, base_url: '{{url}}', model: m, api_key_env: {PLANTED_VAR}}}"]),
    "the project config's key to another URL": ("judge_endpoint.yaml", ["llm.base_url={url}"]),
    "another variable to the project's URL": ("judge_endpoint.yaml", [
        f"llm.api_key_env={PLANTED_VAR}"]),
    "a local model file instead": ("judge_endpoint.yaml", [
        "llm.backend=local", "llm.model=/etc", "llm.gguf_file=passwd"]),
}


@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_overrides_cannot_send_a_variable_to_a_url(project: Project, project_endpoint: Listener,
                                                   attack: str) -> None:
    config, sets = ATTACKS[attack]
    before = len(project_endpoint.seen)
    with listening() as attacker, studio(project) as probe:
        answer = probe.start_and_continue({**JUDGE_ITEM, "config": config,
                                           "sets": [s.replace("{url}", attacker.url) for s in sets]})
    assert attacker.authorizations() == [], "the attacker's listener was called"
    assert not any(PLANTED in s.headers.get("authorization", "")
                   for s in project_endpoint.seen[before:]), \
        "the planted variable went to the project's endpoint"
    assert project_endpoint.seen[before:] == []
    probe.assert_no_secrets()
    assert answer.status_code == 400, answer.text
    assert "may not change" in answer.json()["detail"]


def test_a_new_chat_model_section_counts_as_an_endpoint_change(project: Project) -> None:
    with listening() as attacker, studio(project) as probe:
        answer = probe.post("/api/debug/sessions", {
            "graph": "curate", "config": "configs/curate_small.yaml",
            "sets": [f"generator={{backend: openai, base_url: '{attacker.url}', "
                     f"api_key_env: {PLANTED_VAR}}}"]})
        assert answer.status_code == 400 and "generator.backend" in answer.json()["detail"]
        assert attacker.seen == []
    probe.assert_no_secrets()


NAMES = ["/etc/passwd", "../outside/secret.yaml", "configs/../../outside/secret.yaml",
         "configs/escape.yaml", "notes.yaml", "configs/zero.yaml", "/dev/zero", "big.yaml",
         "configs/pipe.yaml", "./judge_endpoint.yaml", "configs/../judge_endpoint.yaml",
         "configs\\..\\notes.yaml", "%2e%2e/outside/secret.yaml", "judge_endpoint.yaml\x00",
         "~/.bashrc"]


def test_only_listed_project_configs_are_read(project: Project) -> None:
    names = [*NAMES, str(project.outside / "secret.yaml"), str(project.root / "notes.yaml")]
    wrong: dict[str, str] = {}
    with memory_cap(2 << 30), studio(project) as probe, opened_paths() as opened:
        listing = within(60, lambda: probe.get("/api/debug/configs")).json()
        for name in names:
            answer = within(60, lambda n=name: probe.post(  # type: ignore[misc]
                "/api/debug/sessions", {**JUDGE_ITEM, "config": n}))
            if SECRET in answer.text or "root:" in answer.text:
                wrong[name] = "a file's content in the answer"
            elif answer.status_code != 400:
                wrong[name] = f"{answer.status_code} {answer.text[:200]}"
    assert not wrong, "\n".join(f"{name!r}: {why}" for name, why in wrong.items())
    forbidden = {"/dev/zero", str((project.outside / "secret.yaml").resolve()), "/etc/passwd"}
    assert forbidden.isdisjoint(opened), sorted(forbidden & set(opened))
    assert listing["project"] == str(project.root.resolve())
    # a config of only an `llm:` section fits every graph
    assert listing["configs"] == {"curate": ["judge_endpoint.yaml", "configs/curate_small.yaml"],
                                  "judge": ["judge_endpoint.yaml"],
                                  "adversarial": ["judge_endpoint.yaml"]}
    unusable = {u["name"]: u["problem"] for u in listing["unusable"]}
    assert set(unusable) == {"big.yaml", "notes.yaml", "configs/escape.yaml", "configs/zero.yaml",
                             "configs/pipe.yaml"}
    assert unusable["configs/escape.yaml"] == "a link out of the project folder"
    probe.assert_no_secrets()


def test_an_unusable_project_config_is_named_not_quoted(project: Project) -> None:
    with studio(project) as probe:
        notes = probe.post("/api/debug/sessions", {**JUDGE_ITEM, "config": "notes.yaml"})
        other = probe.post("/api/debug/sessions", {**JUDGE_ITEM,
                                                   "config": "configs/curate_small.yaml"})
        page = probe.get("/debug")
    assert notes.status_code == 400 and other.status_code == 400
    assert "kindling graph step judge -c notes.yaml" in notes.json()["detail"]
    assert "kindling graph step judge -c configs/curate_small.yaml" in other.json()["detail"]
    assert page.status_code == 200 and "notes.yaml" in page.text
    probe.assert_no_secrets()


def test_principles_given_as_a_path_are_refused(project: Project) -> None:
    secret = str(project.outside / "secret.yaml")
    for allow in (False, True):
        with studio(project, allow=allow) as probe:
            answer = probe.post("/api/debug/sessions", {**JUDGE_ITEM, "sets": [
                f"principles={secret}"]})
            assert answer.status_code == 400 and "principles" in answer.json()["detail"]
            named = probe.post("/api/debug/sessions", {
                **JUDGE_ITEM, "config": "judge_endpoint.yaml",
                "sets": ["principles=detector_initial", "samples=2"]})
            assert named.status_code == 201, named.text  # a built-in set's name is fine
        probe.assert_no_secrets()


def test_endpoint_overrides_allowed_only_to_project_key_variables(
        project: Project) -> None:
    with listening() as attacker, studio(project, allow=True) as probe:
        listing = probe.get("/api/debug/configs").json()
        assert listing["key_variables"] == [PROJECT_VAR]
        foreign = probe.start_and_continue({**JUDGE_ITEM, "sets": [
            "llm.backend=openai", f"llm.base_url={attacker.url}", f"llm.api_key_env={PLANTED_VAR}"]})
        assert foreign.status_code == 400 and PLANTED_VAR in foreign.json()["detail"]
        assert attacker.seen == []
        # the option does what it says: the project's own variable may go to another endpoint
        moved = probe.start_and_continue({**JUDGE_ITEM, "config": "judge_endpoint.yaml",
                                          "sets": [f"llm.base_url={attacker.url}"]})
        assert moved.status_code == 201, moved.text
        assert attacker.authorizations() and all(a == f"Bearer {PROJECT_KEY}"
                                                 for a in attacker.authorizations())
    probe.assert_no_secrets()


def test_huge_or_many_overrides_are_refused(project: Project) -> None:
    with studio(project) as probe:
        many = probe.post("/api/debug/sessions", {**JUDGE_ITEM, "sets": ["samples=1"] * 51})
        long = probe.post("/api/debug/sessions", {**JUDGE_ITEM, "sets": ["a=" + "x" * 100_000]})
        body = probe.post("/api/debug/sessions", {**JUDGE_ITEM, "query": "q" * (2 << 20)})
        junk = probe.post("/api/debug/sessions", {**JUDGE_ITEM,
                                                  "sets": [f"k{i}.{'x' * 1900}=1" for i in range(50)]})
    assert (many.status_code, long.status_code, body.status_code) == (422, 422, 413)
    assert junk.status_code == 400 and len(junk.text) < 200_000
    probe.assert_no_secrets()


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, also those of included routers (the studio includes them unprefixed)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI's included router
            yield from _api_routes(route.original_router.routes)


def _int_id_routes(app: Any) -> list[tuple[str, str, list[str]]]:
    """(method, path, int path parameters) of every route taking an int in its path."""
    out = []
    for route in _api_routes(app.routes):
        ints = [p.name for p in route.dependant.path_params if p.field_info.annotation is int]
        out += [(method, route.path, ints) for method in sorted(route.methods or ()) if ints]
    return out


@pytest.mark.parametrize("number", [str(MAX_ID + 1), str(MAX_ID), "9" * 30, "-1", "0"])
def test_every_id_path_parameter_out_of_range_is_404(project: Project, number: str) -> None:
    with studio(project) as probe:
        routes = _int_id_routes(probe.client.app)
        assert len(routes) >= 10  # runs, items, live, charts, principles ...
        for method, path, ints in routes:
            filled = path
            for name in ints:
                filled = filled.replace("{" + name + "}", number)
            filled = filled.replace("{key}", "x").replace("{name}", "judge")
            answer = probe.get(filled) if method == "GET" else probe.post(filled, {})
            assert answer.status_code == 404, (method, filled, answer.status_code, answer.text)


def test_ids_and_offsets_out_of_range_elsewhere_are_refused_not_500(project: Project) -> None:
    big = str(MAX_ID + 1)
    with studio(project) as probe:
        gets = [f"/compare?a={big}&b=1", f"/compare?runs={big}", "/compare?runs=²,1",
                "/compare?runs=" + "9" * 5000, f"/principles/diff?a={big}&b=1",
                f"/api/principles/diff?a=1&b={big}", f"/api/runs?offset={big}", f"/?offset={big}",
                f"/api/runs?offset={MAX_ID}"]
        answers = {path: probe.get(path).status_code for path in gets}
        answers["fork"] = probe.post("/api/debug/fork", {"run_id": MAX_ID + 1, "at": 0}).status_code
        answers["edit"] = probe.post("/api/principles", {"parent_id": MAX_ID + 1,
                                                         "text": "规则"}).status_code
    assert all(code < 500 for code in answers.values()), answers
