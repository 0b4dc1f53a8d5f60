"""Training data from the store, as `datasets.Dataset`s in the shapes TRL's trainers read.

- SFT: conversational `messages` (user query, assistant response) from an imported dataset.
- Reward model: `prompt` / `chosen` / `rejected` texts of a run's preference pairs (an import run
  holds the paper's RM pairs, a pairs run Path A's).
- GRPO: conversational `prompt` (the user message) per distinct query of an imported dataset.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from kindling.store.db import Store
from kindling.store.errors import EmptyDataError
from kindling.store.pairs import dataset_pair_texts, iter_pair_texts
from kindling.store.queries import corpus_pairs, dataset_queries

if TYPE_CHECKING:
    from datasets import Dataset


def sft_dataset(store: Store, dataset: str = "sft", limit: int | None = None) -> Dataset:
    """(query, response) rows of an imported dataset as chat messages, in file order.

    Raises:
        EmptyDataError: the dataset has no (query, response) rows in the store.
    """
    from datasets import Dataset

    pairs = corpus_pairs(store, dataset)[:limit]
    if not pairs:
        raise EmptyDataError(f"dataset {dataset!r} has no (query, response) rows in the store: "
                             "import first (`kindling data import`)")
    return Dataset.from_list([
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": r}]}
        for q, r in pairs
    ])


def preference_dataset(
    store: Store, run_id: int, dataset: str | None = None, limit: int | None = None
) -> Dataset:
    """(prompt, chosen, rejected) texts of a run's preference pairs, in pair order.

    Args:
        store: The store.
        run_id: An import run (the paper's RM pairs) or a pairs run (Path A's).
        dataset: Keep only pairs recorded in this imported dataset (e.g. `rm_train`, `rm_test`:
            the import run holds both); None keeps all of the run's pairs.
        limit: At most this many pairs.

    Raises:
        EmptyDataError: the run holds no (matching) pairs.
    """
    from datasets import Dataset

    texts = (iter_pair_texts(store, run_id) if dataset is None
             else dataset_pair_texts(store, run_id, dataset))
    rows = [{"prompt": p, "chosen": c, "rejected": r}
            for p, c, r in itertools.islice(texts, limit)]
    if not rows:
        where = f" in dataset {dataset!r}" if dataset else ""
        raise EmptyDataError(f"run {run_id} holds no preference pairs{where}: import the paper data "
                             "(its import run holds the RM pairs) or `kindling pairs build` first")
    return Dataset.from_list(rows)


def prompt_dataset(store: Store, dataset: str = "grpo_train", limit: int | None = None) -> Dataset:
    """The dataset's queries as conversational prompts (the user message), one per row in file order.

    Rows are kept as the file has them (grpo_train repeats some queries), as TRL would read the
    paper's parquet.

    Raises:
        EmptyDataError: the dataset has no queries in the store.
    """
    from datasets import Dataset

    queries = dataset_queries(store, dataset)[:limit]
    if not queries:
        raise EmptyDataError(f"dataset {dataset!r} has no queries in the store: import first "
                             "(`kindling data import`)")
    return Dataset.from_list([{"prompt": [{"role": "user", "content": q}]} for q in queries])
