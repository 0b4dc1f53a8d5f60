"""Policy evaluation: sample a policy on held-out prompts and measure what it writes.

`sample_policy` generates with the chat template (left-padded batches, seeded sampling);
`policy_metrics` turns one policy's samples and their scores into the figures `kindling eval
policy` reports side by side: excellence rate under a reward model (score above a threshold
fitted on the labelled evaluation set) and/or a judge (share judged good), mean length beside the
length rule's "excellence" (longer than 39 characters on the paper data, or a threshold given or
fitted on the task's labels with `length_threshold_on_labels`: where labels track length, a
policy that only grew longer looks excellent to a length-biased scorer), distinct-1/2 and
self-BLEU. Lengths, n-grams and self-BLEU follow the task's language and length unit
(agents/language.py; zh and chars by default).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kindling.agents.judge.metrics import DEFAULT_THRESHOLD
from kindling.agents.language import DEFAULT_LANGUAGE, DEFAULT_UNIT, text_length
from kindling.rl.evaluate.text_metrics import distinct_n, repetition, self_bleu
from kindling.store.db import Store
from kindling.store.errors import EmptyDataError
from kindling.store.queries import dataset_queries


@dataclass(frozen=True)
class SamplingConfig:
    """How each policy is sampled (the same for every policy compared)."""

    samples_per_prompt: int = 1
    max_new_tokens: int = 64
    temperature: float = 0.7
    top_p: float = 0.95
    batch_size: int = 32
    seed: int = 0


def held_out_prompts(store: Store, dataset: str, limit: int | None) -> list[str]:
    """Distinct queries of an imported dataset in file order (at most `limit`).

    Raises:
        EmptyDataError: the dataset has no queries in the store.
    """
    queries = list(dict.fromkeys(dataset_queries(store, dataset)))
    if not queries:
        raise EmptyDataError(f"dataset {dataset!r} has no queries in the store: import first "
                         "(`kindling data import`)")
    return queries[:limit]


def sample_policy(model: Any, tokenizer: Any, prompts: Sequence[str],
                  cfg: SamplingConfig) -> list[list[str]]:
    """`cfg.samples_per_prompt` completions per prompt (the assistant turn, special tokens removed).

    Sampling is seeded with `cfg.seed` before the first batch, so two policies see the same
    random stream; temperature 0 decodes greedily (then one sample per prompt is enough).
    """
    import torch
    from kindling.rl.policy_loading import ModelError

    if getattr(tokenizer, "chat_template", None) is None:
        raise ModelError("the policy's tokenizer has no chat_template (needed to format prompts)")
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    device = next(model.parameters()).device
    torch.manual_seed(cfg.seed)
    sampling: dict[str, Any] = ({"do_sample": True, "temperature": cfg.temperature,
                                 "top_p": cfg.top_p} if cfg.temperature > 0
                                else {"do_sample": False})
    out: list[list[str]] = []
    for start in range(0, len(prompts), cfg.batch_size):
        texts = [tokenizer.apply_chat_template([{"role": "user", "content": p}],
                                               add_generation_prompt=True, tokenize=False)
                 for p in prompts[start:start + cfg.batch_size]]
        batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            generated = model.generate(
                **{k: v.to(device) for k, v in batch.items()}, max_new_tokens=cfg.max_new_tokens,
                num_return_sequences=cfg.samples_per_prompt, pad_token_id=tokenizer.pad_token_id,
                **sampling)
        new = generated[:, batch["input_ids"].shape[1]:]
        decoded = [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
        k = cfg.samples_per_prompt
        out += [decoded[i:i + k] for i in range(0, len(decoded), k)]
    return out


def excellence(flags: Sequence[int | None]) -> dict[str, Any]:
    """Share of scored samples that are excellent (1); None entries (failed) are counted apart."""
    scored = [f for f in flags if f is not None]
    return {"rate": sum(scored) / len(scored) if scored else 0.0, "scored": len(scored),
            "failed": len(flags) - len(scored)}


def policy_metrics(
    samples: Sequence[str], *, rm_scores: Sequence[float] | None = None,
    rm_threshold: float | None = None, judge_verdicts: Sequence[int | None] | None = None,
    length_threshold: int = DEFAULT_THRESHOLD, self_bleu_max: int | None = 100,
    language: str = DEFAULT_LANGUAGE, length_unit: str = DEFAULT_UNIT,
) -> dict[str, Any]:
    """One policy's figures from its samples (flattened over prompts) and their scores.

    Lengths (and `length_threshold`) are in `length_unit`; distinct-n, repetition and self-BLEU
    use `language`'s tokens.

    Returns:
        {"samples", "mean_length", "median_length", "length_rule": share longer than
        `length_threshold`, "distinct_1", "distinct_2", "self_bleu", "empty": empty samples,
        "repetition": the mean share of a sample's 3-grams that repeat in it,
        "rm": {"mean", "threshold", "excellence": {...}} when scored, "judge": {"excellence":
        {...}} when judged}.

    Raises:
        ValueError: scores or verdicts not aligned with the samples, or RM scores without a threshold.
    """
    lengths = [text_length(s, length_unit) for s in samples]
    n = len(samples)
    report: dict[str, Any] = {
        "samples": n,
        "mean_length": statistics.fmean(lengths) if n else 0.0,
        "median_length": statistics.median(lengths) if n else 0.0,
        "length_rule": sum(1 for x in lengths if x > length_threshold) / n if n else 0.0,
        "distinct_1": distinct_n(samples, 1, language=language),
        "distinct_2": distinct_n(samples, 2, language=language),
        "self_bleu": self_bleu(samples, max_texts=self_bleu_max, language=language),
        "empty": sum(1 for s in samples if not s),
        "repetition": (statistics.fmean(repetition(s, language=language) for s in samples)
                       if n else 0.0),
    }
    if rm_scores is not None:
        if len(rm_scores) != n or rm_threshold is None:
            raise ValueError("rm_scores need one score per sample and a threshold")
        report["rm"] = {"mean": statistics.fmean(rm_scores) if n else 0.0,
                        "threshold": rm_threshold,
                        "excellence": excellence([int(s > rm_threshold) for s in rm_scores])}
    if judge_verdicts is not None:
        if len(judge_verdicts) != n:
            raise ValueError("judge_verdicts need one verdict per sample")
        report["judge"] = {"excellence": excellence(judge_verdicts)}
    return report


def rm_threshold_on_labels(model: Any, tokenizer: Any, store: Store, dataset: str, *,
                           batch_size: int, max_length: int,
                           limit: int | None = None) -> dict[str, Any]:
    """The reward model's most accurate "good iff score > t" on a labelled dataset (its first
    `limit` items, in import order, if given), and that accuracy.

    Raises:
        ValueError: the dataset has no labelled items.
    """
    from kindling.agents.judge.metrics import binary_metrics
    from kindling.rl.evaluate.reward_model import (
        best_score_threshold,
        score_predictions,
        score_texts,
    )
    from kindling.store.eval_data import labelled_items

    items = labelled_items(store, dataset)[:limit]
    if not items:
        raise EmptyDataError(f"no labelled items in dataset {dataset!r} to fit the reward model's "
                         "threshold on (import the data first, or give --rm-threshold)")
    scores = score_texts(model, tokenizer, [i.query for i in items], [i.response for i in items],
                         batch_size=batch_size, max_length=max_length)
    labels = [i.label for i in items]
    t = best_score_threshold(scores, labels)
    accuracy = binary_metrics(labels, score_predictions(scores, t))["accuracy"]
    return {"threshold": t, "fitted_on": dataset, "items": len(items), "accuracy": accuracy}


def length_threshold_on_labels(store: Store, dataset: str, *, length_unit: str = DEFAULT_UNIT,
                               limit: int | None = None) -> dict[str, Any]:
    """The length rule's threshold fitted on a labelled dataset (its first `limit` items, in
    import order, if given): the most accurate "good iff length > t" and that accuracy.

    On the paper's evaluation set (chars) it is 36 at 90.0%; the default rule, 39, gives 89.8%.

    Raises:
        EmptyDataError: the dataset has no labelled items.
    """
    from kindling.agents.judge.metrics import fit_length_threshold
    from kindling.store.eval_data import labelled_items

    items = labelled_items(store, dataset)[:limit]
    if not items:
        raise EmptyDataError(f"no labelled items in dataset {dataset!r} to fit the length rule's "
                         "threshold on (import the data first, or give the threshold)")
    fit = fit_length_threshold([(i.response, i.label) for i in items], length_unit)
    return {**fit.as_dict(), "fitted_on": dataset}
