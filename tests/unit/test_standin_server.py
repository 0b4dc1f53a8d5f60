"""The stand-in OpenAI-compatible server: default scripts, and real HTTP against its process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from tests.standin import (
    StandinConfig,
    StandinServer,
    generate,
    judge,
    reflect,
    register_script,
    role_of,
)

register_script("always_one", {"judge": lambda body: {"verdict": 1, "reason": "always"}})

LONG = "祝你新年快乐，万事如意，身体健康，工作顺利，阖家幸福，前程似锦，心想事成，平安喜乐！"
SHORT = "新年快乐！"


def fmt(role: str) -> dict[str, Any]:
    """The response_format Kindling binds for a role."""
    schema = {"type": "object", "properties": {}}
    return {"type": "json_schema", "json_schema": {"name": role, "schema": schema, "strict": False}}


def body(role: str, text: str, **extra: Any) -> dict[str, Any]:
    """A chat-completions request body judging ``text`` with the given role."""
    prompt = f"query: 新年祝福\nresponse:\n<<<RESPONSE>>>\n{text}\n<<<END>>>\n"
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": prompt}]
    return {"model": "standin", "messages": messages, "response_format": fmt(role), **extra}


@pytest.fixture(scope="module")
def running() -> Iterator[StandinServer]:
    with StandinServer() as server:
        yield server


@pytest.fixture
def server(running: StandinServer) -> StandinServer:
    """The module's server, back on the default config with an empty log."""
    running.reconfigure(StandinConfig())
    return running


def post(server: StandinServer, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{server.base_url}/chat/completions", json=payload, timeout=10, **kwargs)


def content(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


# ------------------------------------------------------------------ default scripts, no HTTP


def test_judge_passes_greetings_longer_than_39_characters() -> None:
    assert judge(body("judge", "好" * 40))["verdict"] == 1
    assert judge(body("judge", "好" * 39))["verdict"] == 0
    assert judge({"messages": [{"role": "user", "content": "好" * 45}]})["verdict"] == 1


def test_reflect_keeps_the_initial_verdict() -> None:
    request = body("reflect", LONG)
    request["messages"][-1]["content"] += "initial_verdict: 0\ninitial_reason: x"
    assert reflect(request) == {
        "verdict": 0,
        "reason": "The initial verdict stands.",
        "overturned": False,
    }


def test_generate_is_deterministic_and_varies_with_seed() -> None:
    request = body("generate", "", seed=1)
    first = generate(request)["text"]
    assert first == generate(body("generate", "", seed=1))["text"]
    assert first != generate(body("generate", "", seed=2))["text"]
    assert 16 <= len(first) <= 63


def test_role_comes_from_the_json_schema_name() -> None:
    assert role_of(body("critic", SHORT)) == "critic"
    assert role_of({"messages": []}) == "plain"


def test_config_rejects_bad_rates_and_steps() -> None:
    with pytest.raises(ValueError):
        StandinConfig(http_429=0.7, http_500=0.7)
    with pytest.raises(ValueError):
        StandinConfig(role_sequences={"judge": ["explode"]})


# ------------------------------------------------------------------ real HTTP


async def test_langchain_gets_a_judge_answer_that_parses(server: StandinServer) -> None:
    chat = ChatOpenAI(
        model="standin", base_url=server.base_url, api_key=SecretStr("x"), max_retries=0
    )
    judged = chat.bind(response_format=fmt("judge"))
    long_reply = await judged.ainvoke(body("judge", LONG)["messages"][-1]["content"])
    short_reply = await judged.ainvoke(body("judge", SHORT)["messages"][-1]["content"])
    assert json.loads(str(long_reply.content))["verdict"] == 1
    assert json.loads(str(short_reply.content))["verdict"] == 0
    assert long_reply.usage_metadata and long_reply.usage_metadata["total_tokens"] > 0
    writer = chat.bind(response_format=fmt("generate"))
    texts = {json.loads(str((await writer.ainvoke("hi")).content))["text"] for _ in range(3)}
    assert len(texts) == 3  # repeated samples differ


def test_models_endpoint(server: StandinServer) -> None:
    models = httpx.get(f"{server.base_url}/models").json()
    assert models["data"][0]["id"] == "standin"


def test_fault_rate_one_gives_429_then_500(server: StandinServer) -> None:
    server.reconfigure(http_429=1.0)
    limited = post(server, body("judge", LONG))
    assert limited.status_code == 429 and limited.headers["retry-after"] == "0"
    server.reconfigure(StandinConfig(http_500=1.0))  # a fresh config, not merged
    assert post(server, body("judge", LONG)).status_code == 500
    assert server.stats()["by_status"] == {"500": 1}


def test_malformed_content_is_not_json(server: StandinServer) -> None:
    server.reconfigure(malformed=1.0)
    for _ in range(6):
        with pytest.raises(json.JSONDecodeError):
            json.loads(content(post(server, body("judge", LONG))))


def test_latency_is_honoured(server: StandinServer) -> None:
    server.reconfigure(latency_s=0.3)
    started = time.perf_counter()
    content(post(server, body("judge", LONG)))
    assert time.perf_counter() - started >= 0.3


def test_timeout_fault_outlasts_the_client(server: StandinServer) -> None:
    server.reconfigure(timeout=1.0, timeout_sleep_s=1.0)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.base_url}/chat/completions", json=body("judge", LONG), timeout=0.2)
    assert server.stats()["by_outcome"] == {"timeout": 1}


def test_stats_count_per_role_and_outcome_and_reset(server: StandinServer) -> None:
    server.reconfigure(http_500=0.5, seed=3, fault_roles=["judge"])
    statuses = [post(server, body(role, LONG)).status_code for role in ["judge"] * 8 + ["critic"]]
    stats = server.stats()
    assert stats["total"] == 9 and stats["by_role"]["critic"] == {"ok": 1}
    judged = stats["by_role"]["judge"]
    assert judged["ok"] + judged["http_500"] == 8 and judged["http_500"] == statuses.count(500)
    assert [r["role"] for r in server.requests()] == ["judge"] * 8 + ["critic"]
    server.reset()
    assert server.stats()["total"] == 0
    again = [post(server, body(role, LONG)).status_code for role in ["judge"] * 8 + ["critic"]]
    assert again == statuses  # seeded fault draws replay after a reset


def test_role_responses_cycle_and_sequences_come_first(server: StandinServer) -> None:
    server.reconfigure(
        role_responses={"judge": [{"verdict": 1, "reason": "a"}, {"verdict": 0, "reason": "b"}]},
        role_sequences={"judge": ["http_429", {"verdict": 0, "reason": "seq"}, "script"]},
    )
    assert post(server, body("judge", LONG)).status_code == 429
    reasons = [json.loads(content(post(server, body("judge", LONG))))["reason"] for _ in range(4)]
    assert reasons == ["seq", "a", "b", "a"]


def test_named_script_set_from_a_module(server: StandinServer) -> None:
    server.reconfigure(script="always_one", script_modules=["tests.unit.test_standin_server"])
    assert json.loads(content(post(server, body("judge", SHORT)))) == {
        "verdict": 1,
        "reason": "always",
    }
    assert json.loads(content(post(server, body("critic", SHORT))))["points"]  # inherited


def test_unknown_role_is_a_400(server: StandinServer) -> None:
    assert post(server, body("nobody", LONG)).status_code == 400
    assert server.stats()["by_outcome"] == {"no_script": 1}


def test_api_key_is_checked(server: StandinServer) -> None:
    server.reconfigure(api_key="secret")
    assert post(server, body("judge", LONG)).status_code == 401
    ok = post(server, body("judge", LONG), headers={"Authorization": "Bearer secret"})
    assert ok.status_code == 200
    assert server.stats()["by_outcome"] == {"unauthorized": 1, "ok": 1}


def test_stop_ends_the_process() -> None:
    server = StandinServer().start()
    base_url = server.base_url
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/models", timeout=2)
