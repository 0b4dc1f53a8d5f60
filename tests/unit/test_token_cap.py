"""The token cap goes out as `max_tokens` to every endpoint but OpenAI's own API."""

from kindling.agents.llm.endpoints import ReasoningChatOpenAI
from langchain_core.messages import HumanMessage
from pydantic import SecretStr


def payload(base_url: str | None) -> dict:
    chat = ReasoningChatOpenAI(model="m", base_url=base_url, api_key=SecretStr("k"),
                               max_completion_tokens=7)
    return chat._get_request_payload([HumanMessage("hi")])


def test_max_tokens_for_compatible_servers_max_completion_tokens_for_openai() -> None:
    for base in ("http://127.0.0.1:8080/v1", "https://api.deepseek.com/v1"):
        sent = payload(base)
        assert sent["max_tokens"] == 7 and "max_completion_tokens" not in sent
    assert payload("https://api.openai.com/v1")["max_completion_tokens"] == 7
    assert payload(None)["max_completion_tokens"] == 7
