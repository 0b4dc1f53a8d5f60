"""A debug session's background actions (kindling.studio.debug_worker): one at a time, what runs
and for how long, a backend's notice heard from a thread, errors kept for the page."""

from __future__ import annotations

import asyncio

import pytest
from kindling.agents.llm.notices import notice
from kindling.agents.llm.redaction import forget_keys, register_key

from kindling.studio.debug_checks import item_of_state
from kindling.studio.debug_worker import ActionRunner, Busy, describe


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_an_action_runs_in_the_background_one_at_a_time() -> None:
    clock, gate = Clock(), asyncio.Event()
    runner = ActionRunner(clock)
    runner.launch("continue", gate.wait)  # returns at once
    assert runner.busy and runner.running_action == "continue"
    clock.now += 12.34
    assert runner.view() == {"action": "continue", "elapsed_s": 12.3, "notice": None}
    with pytest.raises(Busy, match="still running continue \\(for 12 s\\)"):
        runner.launch("step", gate.wait)
    gate.set()
    await runner.settled(5)
    assert not runner.busy and runner.view() is None and runner.error is None
    runner.launch("step", _nothing)  # idle again: the next action is taken
    await runner.settled(5)
    assert runner.error is None


async def _nothing() -> None:
    return None


async def test_a_backend_notice_from_a_thread_shows_while_it_lasts() -> None:
    heard, release = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()

    def start_server() -> None:  # what LlamaServer.start does, in asyncio.to_thread
        with notice("starting the local llama.cpp server (m.gguf)"):
            loop.call_soon_threadsafe(heard.set)
            asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=5)

    async def work() -> None:
        await asyncio.to_thread(start_server)
        await asyncio.sleep(3600)  # a node that takes long: the notice is over

    runner = ActionRunner()
    runner.launch("start", work)
    await asyncio.wait_for(heard.wait(), 5)
    view = runner.view()
    assert view is not None and view["notice"] == "starting the local llama.cpp server (m.gguf)"
    release.set()
    for _ in range(100):
        if (runner.view() or {}).get("notice") is None:
            break
        await asyncio.sleep(0.01)
    assert runner.view() == {"action": "start", "elapsed_s": pytest.approx(0, abs=5),
                             "notice": None}
    await runner.cancel()  # quit: the running action stops
    assert not runner.busy and runner.error is None


def test_no_listener_hears_nothing() -> None:
    with notice("starting"):  # the CLI: no one listens, nothing fails
        pass


async def test_errors_reach_the_page_in_words_without_keys() -> None:
    runner = ActionRunner()

    async def refused() -> None:
        raise LookupError("item 'x' is not in the selection")

    runner.launch("start", refused)
    await runner.settled(5)
    assert runner.error is not None and runner.error.action == "start"
    assert runner.error.message == "item 'x' is not in the selection"
    register_key("KINDLING_TEST_WORKER_KEY", "sk-worker-secret-123")
    try:
        async def broken() -> None:
            raise RuntimeError("endpoint echoed sk-worker-secret-123")

        runner.launch("continue", broken)
        await runner.settled(5)
        assert runner.error is not None
        assert runner.error.message == ("RuntimeError: endpoint echoed "
                                        "[REDACTED $KINDLING_TEST_WORKER_KEY]")
    finally:
        forget_keys()
    runner.launch("step", _nothing)  # the next action clears the error
    assert runner.error is None
    await runner.settled(5)


def test_describe_names_the_type_of_an_unexpected_error() -> None:
    assert describe(ValueError("bad value")) == "bad value"
    assert describe(KeyError("x")) == "KeyError: 'x'"
    assert describe(TimeoutError()) == "TimeoutError"


def test_a_curate_stop_is_shaped_as_the_stored_item() -> None:
    before_reflect = {"query": "q", "candidate": "c", "pros": [], "cons": ["短"],
                      "initial_verdict": 1, "errors": []}
    item = item_of_state("curate", before_reflect)
    assert item["response"] == "c" and item["verdict"]["status"] is None  # no verdict yet
    assert item["verdict"]["initial"] == 1
    done = item_of_state("curate", {**before_reflect, "final_verdict": 1})
    assert done["verdict"]["status"] == "ok" and done["verdict"]["pros"] == []
    failed = item_of_state("curate", {**before_reflect, "errors": ["judge: no JSON"]})
    assert failed["verdict"]["status"] == "failed"
    assert failed["verdict"]["error"] == "judge: no JSON"
    assert item_of_state("judge", {"query": "q", "response": "r", "verdict": 0}) == {
        "query": "q", "response": "r", "verdict": 0}
    assert item_of_state("adversarial", {"history": []}) == {}
