"""Test doubles (only in tests/): an in-process chat model scripted per agent role, and tiny data."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kindling.store.db import Store
from kindling.store.models import DatasetRecord, Label, Query, Response, Run, text_hash
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

Script = Callable[[str], str]


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0].strip() if start in text else text


def default_scripts() -> dict[str, Script]:
    """Deterministic answers: the judge likes greetings longer than 39 characters."""
    def verdict(prompt: str) -> str:
        text = _between(prompt, "<<<RESPONSE>>>", "<<<END>>>")
        return json.dumps({"verdict": int(len(text) > 39), "reason": f"长度 {len(text)}"})

    def reflect(prompt: str) -> str:
        initial = int(prompt.rsplit("initial_verdict:", 1)[1].strip()[0])  # the item, not the example
        return json.dumps({"verdict": initial, "reason": "维持", "overturned": False})

    return {
        "generate": lambda p: json.dumps({"text": "祝你生日快乐，愿新的一岁平安喜乐、万事顺意。"}),
        "advocate": lambda p: json.dumps({"points": ["流畅"]}),
        "critic": lambda p: json.dumps({"points": ["略显空泛"]}),
        "judge": verdict,
        "reflect": reflect,
    }


class ScriptedChatModel(BaseChatModel):
    """Answers by the role named in `response_format`; records every prompt it saw."""

    scripts: dict[str, Any]
    seen: list[tuple[str, str]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted-test-double"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        role = kwargs["response_format"]["json_schema"]["name"]
        prompt = str(messages[0].content)
        self.seen.append((role, prompt))
        content = self.scripts[role](prompt)
        message = AIMessage(content, usage_metadata={"input_tokens": len(prompt),
                                                     "output_tokens": len(content),
                                                     "total_tokens": len(prompt) + len(content)})
        return ChatResult(generations=[ChatGeneration(message=message)])


def seed_tiny_data(store: Store, pairs: list[tuple[str, str, int]], *,
                   labels: bool = False) -> None:
    """A few SFT exemplars and evaluation-set items, written the way the importer writes them
    (with `labels`, the evaluation set's labels too)."""
    sft = [("生日祝福", "生日快乐！愿你被世界温柔以待，所有的美好都如期而至。"),
           ("新年祝福", "新年快乐！愿你新的一年里平安喜乐，万事胜意。")]
    with store.session() as s:
        run = Run(kind="import", config={}, code_version="test", status="finished")
        s.add(run)
        s.flush()
        for dataset, rows in (("sft", [(q, r, None) for q, r in sft]), ("evaluation_set", pairs)):
            for line, (q, r, _label) in enumerate(rows, 1):
                query = s.query(Query).filter_by(text_hash=text_hash(q)).first()
                if query is None:
                    query = Query(text=q, text_hash=text_hash(q))
                    s.add(query)
                    s.flush()
                resp = Response(query_id=query.id, text=r, text_hash=text_hash(r), origin="dataset")
                s.add(resp)
                s.flush()
                s.add(DatasetRecord(dataset=dataset, line=line, query_id=query.id,
                                    response_id=resp.id, run_id=run.id))
                if labels and _label is not None:
                    s.add(Label(response_id=resp.id, dataset=dataset, value=_label))


def tiny_tokenizer(texts: list[str], vocab_size: int = 300) -> Any:
    """A character-level BPE tokenizer trained on `texts` (for tiny models built in tests)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<unk>", "<eos>", "<pad>"]))
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", pad_token="<pad>",
                                   unk_token="<unk>")
