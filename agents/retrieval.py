"""Exemplar retrieval: BM25 over character n-grams (offline default) or sentence embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import bm25s
import numpy as np
from kindling.agents.language import char_ngrams
from kindling.store.errors import EmptyDataError


@dataclass(frozen=True)
class Exemplar:
    query: str
    text: str


class Retriever(Protocol):
    def search(self, query: str, k: int, exclude: str | None = None) -> list[Exemplar]: ...


class BM25Retriever:
    """BM25 (bm25s) over the corpus' queries; returns the matching corpus responses."""

    def __init__(self, corpus: Sequence[Exemplar], ngram: int = 2) -> None:
        if not corpus:
            raise EmptyDataError("retrieval corpus is empty: import the data first (kindling data import)")
        self.corpus, self.ngram = list(corpus), ngram
        self._index = bm25s.BM25()
        self._index.index([char_ngrams(e.query, ngram, short_as_one=True) or ["∅"]
                           for e in self.corpus], show_progress=False)
        self._vocab: dict[str, Any] = self._index.vocab_dict

    def search(self, query: str, k: int, exclude: str | None = None) -> list[Exemplar]:
        tokens = [t for t in char_ngrams(query, self.ngram, short_as_one=True) if t in self._vocab]
        if not tokens or k == 0:
            return []
        want = min(k + 1, len(self.corpus))
        ids, scores = self._index.retrieve([tokens], k=want, show_progress=False, n_threads=1)
        found = [self.corpus[i] for i, s in zip(ids[0], scores[0], strict=True) if s > 0]
        return [e for e in found if e.text != exclude][:k]


class EmbeddingRetriever:
    """Cosine similarity of sentence-transformers embeddings of the corpus' queries."""

    def __init__(self, corpus: Sequence[Exemplar], model_name: str) -> None:
        from sentence_transformers import SentenceTransformer  # optional extra [embeddings]

        if not corpus:
            raise EmptyDataError("retrieval corpus is empty: import the data first (kindling data import)")
        self.corpus = list(corpus)
        self._model = SentenceTransformer(model_name)
        self._vectors = self._encode([e.query for e in self.corpus])

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.encode(texts, normalize_embeddings=True, show_progress_bar=False))

    def search(self, query: str, k: int, exclude: str | None = None) -> list[Exemplar]:
        if k == 0:
            return []
        sims = self._vectors @ self._encode([query])[0]
        order = np.argsort(-sims)[: k + 1]
        return [self.corpus[i] for i in order if self.corpus[i].text != exclude][:k]
