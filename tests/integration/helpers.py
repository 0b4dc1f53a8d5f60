"""Shared pieces of the integration tests: paper-like items, config against a stand-in server."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kindling.agents.curate.config import CurateConfig
from kindling.agents.llm.config import LLMConfig
from kindling.store.db import Store

if TYPE_CHECKING:
    from tests.conftest import PaperDB

GREETINGS = [
    "生日快乐",
    "祝你生日快乐，天天开心！",
    "亲爱的朋友，生日快乐！愿你新的一岁眼里有光、心中有爱，所求皆如愿，所行皆坦途，岁岁常欢愉。",
    "新年快乐，万事如意，阖家幸福！",
    "新的一年，愿你把日子过成诗，把烦恼折成纸飞机放飞，眼里有星辰大海，身边有良人相伴，平安喜乐。",
]


def make_items(n: int) -> list[tuple[str, str, int]]:
    """n distinct (query, response, label) items over a few queries."""
    items = []
    for i in range(n):
        text = GREETINGS[i % len(GREETINGS)] + f"（第{i}条）"
        items.append((f"祝福语场景{i % 7}", text, int(len(text) > 39)))
    return items


def http_config(base_url: str, *, key_env: str = "KINDLING_TEST_KEY", **overrides) -> CurateConfig:
    agents = LLMConfig(backend="openai", base_url=base_url, model="standin", api_key_env=key_env,
                       timeout_s=1.0, max_retries=4, backoff_initial_s=0.01, backoff_max_s=0.05,
                       max_concurrency=32)
    return CurateConfig(llm=agents, **overrides)


def imported_store(folder: Path, paper_db: PaperDB | None = None) -> tuple[str, Store, int]:
    """A SQLite store in `folder` holding one import of the paper data: (url, store, import run id).

    Given the session's `paper_db` fixture, the store is a copy of it instead of a new import.
    """
    from kindling.ingest.imports import import_paper_data

    from tests.conftest import PAPER_DATA

    url = f"sqlite:///{folder / 'kindling.db'}"
    if paper_db is not None:
        run_id = paper_db.copy_to(folder / "kindling.db")
        return url, Store(url), run_id
    store = Store(url)
    report = import_paper_data(store, PAPER_DATA, code_version="test")
    assert report.run_id is not None
    return url, store, report.run_id


def random_length_policy(store: Store, folder: Path) -> Path:
    """A tiny policy in `folder` whose tokenizer knows the SFT characters and which, random as it
    is, stops at random lengths (a large end-of-turn row)."""
    import torch
    from kindling.rl.data import sft_dataset

    from tests.integration.test_train_sft import build_tiny_model

    rows = sft_dataset(store, "sft", 300).to_list()
    model = build_tiny_model(folder, [m["content"] for r in rows for m in r["messages"]])
    with torch.no_grad():
        model.lm_head.weight[model.config.eos_token_id] *= 6
    model.save_pretrained(folder)
    return folder


DEGENERATE = {  # curate answers as the offline 135M model gives them: no strengths, a copied
    "advocate": {"points": []},  # placeholder, a reflector whose `overturned` contradicts its verdict
    "judge": {"verdict": 1, "reason": "好"},
    "reflect": {"verdict": 1, "reason": "最终理由", "overturned": True},
}
