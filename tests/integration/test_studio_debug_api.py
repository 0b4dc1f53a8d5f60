"""The studio's debugger over HTTP (FastAPI's TestClient) against the stand-in server: actions
run in the background (the request returns at once, one action at a time, 409 for a second),
what runs shows in the session's view, quit stops a running action, a failed start and the item's
warnings at a stop reach the page, the config file used is named, sessions stay bounded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kindling.store.db import Store
from kindling.store.reports import get_run, list_runs

from kindling.studio import debug_sessions
from kindling.studio.app import create_app
from tests.fakes import seed_tiny_data
from tests.integration.helpers import DEGENERATE, http_config
from tests.standin.config import StandinConfig
from tests.standin.process import StandinServer

BASE = "http://127.0.0.1:8765"
POST = {"Origin": BASE}
KEY_ENV = "KINDLING_DEBUG_API_KEY"
CONFIG = "configs/curate_slow.yaml"


@pytest.fixture(scope="module")
def standin() -> Iterator[str]:
    """Every call answered after 0.5 s: an action lasts long enough to be seen running."""
    with StandinServer(StandinConfig(latency_s=0.5, role_responses=DEGENERATE)) as server:
        yield server.base_url


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory, standin: str) -> Iterator[Any]:
    top = tmp_path_factory.mktemp("debug-api")
    url = f"sqlite:///{top / 'kindling.db'}"
    store = Store(url)
    seed_tiny_data(store, [("生日祝福", "生日快乐", 0), ("新年祝福", "新年快乐", 1)])
    store.close()
    project = top / "project"
    (project / "configs").mkdir(parents=True)
    cfg = http_config(standin, key_env=KEY_ENV, limit=1)
    cfg.llm.timeout_s = 10.0
    (project / CONFIG).write_text(cfg.model_dump_json(), encoding="utf-8")
    with TestClient(create_app(url, project=project), base_url=BASE) as client:
        yield client, project.resolve(), Store(url, create=False)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "standin-key")


def _start(client: TestClient, **spec: Any) -> dict[str, Any]:
    started = client.post("/api/debug/sessions", headers=POST,
                          json={"graph": "curate", "config": CONFIG, **spec})
    assert started.status_code == 201, started.text
    return dict(started.json())


def _settled(client: TestClient, session: str) -> dict[str, Any]:
    view = client.get(f"/api/debug/sessions/{session}", params={"wait": 30}).json()
    assert not view["busy"], view
    return dict(view)


def _act(client: TestClient, session: str, action: str) -> Any:
    return client.post(f"/api/debug/sessions/{session}", headers=POST, json={"action": action})


def test_actions_run_in_the_background_one_at_a_time(studio: Any) -> None:
    client, project, _store = studio
    started = _start(client, break_after=["reflect"])
    assert started["busy"] and started["activity"]["action"] == "start"  # answered at once
    assert started["config"]["file"] == str(project / CONFIG)
    view = _settled(client, started["id"])
    assert view["reason"] == "paused before retrieve_exemplars" and view["warnings"] == []
    going = _act(client, view["id"], "continue")
    assert going.status_code == 202 and going.json()["activity"]["action"] == "continue"
    second = _act(client, view["id"], "step")
    assert second.status_code == 409 and "still running continue" in second.json()["detail"]
    seen: set[str] = set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and {"advocate", "critic"} - seen:
        now = client.get(f"/api/debug/sessions/{view['id']}").json()
        seen |= set((now["activity"] or {}).get("running", []))
        time.sleep(0.05)
    assert {"advocate", "critic"} <= seen  # the debate's two nodes, running at once
    stop = _settled(client, view["id"])
    assert stop["reason"] == "breakpoint after reflect" and stop["error"] is None
    assert any("'最终理由' is copied word for word" in w for w in stop["warnings"])
    assert any("says overturned true but its verdict 1 keeps" in w for w in stop["warnings"])
    assert any("advocate found no strengths" in w for w in stop["warnings"])
    page = client.get(f"/debug/{view['id']}").text
    assert 'id="stop-warnings"' in page and "最终理由" in page
    assert _act(client, view["id"], "continue").status_code == 202
    end = _settled(client, view["id"])
    assert end["finished"] and end["ended"]


def test_quit_stops_a_running_action(studio: Any) -> None:
    client, _project, store = studio
    view = _settled(client, _start(client)["id"])
    assert _act(client, view["id"], "continue").status_code == 202
    quit_ = _act(client, view["id"], "quit")
    assert quit_.status_code == 200 and quit_.json()["ended"] and not quit_.json()["busy"]
    run = get_run(store, view["run_id"])
    assert run is not None and run.status == "stopped"
    assert _act(client, view["id"], "continue").status_code == 400  # ended


def test_a_failed_start_reaches_the_page(studio: Any) -> None:
    client, _project, _store = studio
    view = _settled(client, _start(client, item="no-such-item")["id"])
    assert view["ended"] and not view["started"]
    assert view["error"]["action"] == "start"
    assert "'no-such-item' is not in the selection" in view["error"]["message"]
    page = client.get(f"/debug/{view['id']}").text
    assert 'id="debug-error"' in page and "This session did not start" in page


def test_busy_sessions_are_never_closed_to_make_room(studio: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    client, _project, store = studio
    monkeypatch.setattr(debug_sessions, "MAX_SESSIONS", 1)
    first = _settled(client, _start(client, break_before=["judge"])["id"])
    assert _act(client, first["id"], "continue").status_code == 202  # the debate: 0.5 s
    refused = client.post("/api/debug/sessions", headers=POST,
                          json={"graph": "curate", "config": CONFIG})
    assert refused.status_code == 409 and "running actions" in refused.json()["detail"]
    paused = _settled(client, first["id"])
    assert paused["reason"] == "breakpoint before judge"
    second = _start(client)  # the first is idle now: closed to make room, its run stopped
    assert client.get(f"/api/debug/sessions/{first['id']}").json()["ended"]
    run = get_run(store, paused["run_id"])
    assert run is not None and run.status == "stopped"
    assert _act(client, _settled(client, second["id"])["id"], "quit").status_code == 200


def test_a_start_cut_short_by_shutdown_leaves_no_run_running(
        studio: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The studio stops while a session's run and models are still being built: once the build
    is done its models are closed and its run is marked stopped, not left running."""
    _client, project, store = studio
    build = debug_sessions.step_target

    def slow_build(*args: Any) -> Any:
        time.sleep(1.0)  # the studio's shutdown arrives while this runs
        return build(*args)

    monkeypatch.setattr(debug_sessions, "step_target", slow_build)
    before = {r["run"].id for r in list_runs(store, kind="curate")}
    with TestClient(create_app(store.url, project=project), base_url=BASE) as client:
        view = _start(client)
        assert client.get(f"/api/debug/sessions/{view['id']}").json()["busy"]
    [new] = [r["run"].id for r in list_runs(store, kind="curate") if r["run"].id not in before]
    run = get_run(store, new)
    assert run is not None and run.status == "stopped", run
    assert "cancelled before its first stop" in (run.metrics or {}).get("error", "")
