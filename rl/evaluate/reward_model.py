"""Reward-model evaluation: pairwise accuracy and agreement with labels, beside length baselines.

Two views of a reward model (DESIGN.md, "Evaluation protocol"):

- Pairwise: on held-out preference pairs, how often score(chosen) > score(rejected), beside the
  length-only rule "the longer response is the chosen one"; overall, within length bands of the
  chosen response, and on pairs with neither response in RM training.
- Agreement: on the labelled evaluation set, "good iff score > t" with t fitted on a separate split
  (by query), beside the length baseline (good iff longer than 39 characters on the paper data;
  or a threshold fitted on the same split as the score's).

Lengths are in the task's unit (agents/language.py: characters by default, or words).

Ties count as wrong for both predictors (equal scores, equal lengths); their number is reported.
The pure functions here do no I/O; `score_texts` runs the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kindling.agents.language import DEFAULT_UNIT, text_length
from kindling.rl.evaluate.metrics import DEFAULT_BAND_EDGES, band_names, length_bands
from kindling.store.errors import EmptyDataError, FlagError

PairRow = dict[str, Any]


def pairwise_accuracy(chosen_scores: Sequence[float], rejected_scores: Sequence[float],
                      chosen_lengths: Sequence[int], rejected_lengths: Sequence[int]) -> dict[str, Any]:
    """RM accuracy (chosen scored higher) beside the length baseline (chosen is longer).

    Returns:
        {"n", "rm": accuracy, "length": accuracy, "rm_ties", "length_ties"}; accuracies are 0.0
        on no pairs.

    Raises:
        ValueError: the sequences differ in length.
    """
    n = len(chosen_scores)
    if not n == len(rejected_scores) == len(chosen_lengths) == len(rejected_lengths):
        raise ValueError("scores and lengths must have one entry per pair")
    rm = sum(1 for c, r in zip(chosen_scores, rejected_scores, strict=True) if c > r)
    length = sum(1 for c, r in zip(chosen_lengths, rejected_lengths, strict=True) if c > r)
    return {"n": n, "rm": rm / n if n else 0.0, "length": length / n if n else 0.0,
            "rm_ties": sum(1 for c, r in zip(chosen_scores, rejected_scores, strict=True) if c == r),
            "length_ties": sum(1 for c, r in zip(chosen_lengths, rejected_lengths, strict=True)
                               if c == r)}


def pairwise_report(chosen_scores: Sequence[float], rejected_scores: Sequence[float],
                    chosen_lengths: Sequence[int], rejected_lengths: Sequence[int],
                    unseen: Sequence[bool], *,
                    edges: Sequence[int] = DEFAULT_BAND_EDGES) -> dict[str, Any]:
    """`pairwise_accuracy` overall, per length band of the chosen response, and on unseen pairs.

    Returns:
        {"overall": ..., "bands": {band name: ...} (every band, empty ones n = 0), "unseen": ...}.
    """
    if len(unseen) != len(chosen_scores):
        raise ValueError(f"unseen has {len(unseen)} entries for {len(chosen_scores)} pairs")

    def subset(idx: list[int]) -> dict[str, Any]:
        return pairwise_accuracy([chosen_scores[i] for i in idx], [rejected_scores[i] for i in idx],
                                 [chosen_lengths[i] for i in idx],
                                 [rejected_lengths[i] for i in idx])

    bands = length_bands(chosen_lengths, edges)
    return {
        "overall": pairwise_accuracy(chosen_scores, rejected_scores, chosen_lengths,
                                     rejected_lengths),
        "bands": {name: subset([i for i, b in enumerate(bands) if b == name])
                  for name in band_names(edges)},
        "unseen": subset([i for i, u in enumerate(unseen) if u]),
    }


def best_score_threshold(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The threshold t whose rule "good iff score > t" is most accurate on (scores, labels).

    Fit it on a split separate from the evaluated items. Candidates: one below the lowest score
    (everything good), and each distinct score (as the midpoint to the next one; the highest
    as itself: everything not good); ties go to the smallest.

    Raises:
        ValueError: no items, sequences of different lengths, labels other than 0 and 1.
    """
    if not scores:
        raise ValueError("cannot fit a score threshold on no items")
    if len(scores) != len(labels):
        raise ValueError(f"scores has {len(scores)} items but labels has {len(labels)}")
    if any(y not in (0, 1) for y in labels):
        raise ValueError("labels must hold only 0 and 1")
    by_score: dict[float, list[int]] = {}
    for s, y in zip(scores, labels, strict=True):
        by_score.setdefault(float(s), []).append(y)
    distinct = sorted(by_score)
    best_t, correct = distinct[0] - 1.0, sum(labels)
    best = correct
    for k, t in enumerate(distinct):
        ys = by_score[t]
        correct += ys.count(0) - ys.count(1)
        if correct > best:  # the midpoint to the next score: same accuracy here, a wider margin
            best_t = (t + distinct[k + 1]) / 2 if k + 1 < len(distinct) else t
            best = correct
    return best_t


def score_predictions(scores: Sequence[float], threshold: float) -> list[int]:
    """1 where the score is above the threshold, else 0."""
    return [1 if s > threshold else 0 for s in scores]


def render_texts(tokenizer: Any, prompts: Sequence[str], responses: Sequence[str]) -> list[str]:
    """(prompt, response) as the model sees it: the chat template if any, else concatenated."""
    if getattr(tokenizer, "chat_template", None):
        return [tokenizer.apply_chat_template(
            [{"role": "user", "content": p}, {"role": "assistant", "content": r}], tokenize=False)
            for p, r in zip(prompts, responses, strict=True)]
    eos = tokenizer.eos_token or ""
    return [p + r + eos for p, r in zip(prompts, responses, strict=True)]


def score_texts(model: Any, tokenizer: Any, prompts: Sequence[str], responses: Sequence[str], *,
                batch_size: int = 32, max_length: int = 512) -> list[float]:
    """The reward model's scalar score for each (prompt, response), in batches, without grads."""
    import torch

    texts = render_texts(tokenizer, prompts, responses)
    model.eval()
    device = next(model.parameters()).device
    scores: list[float] = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                              truncation=True, max_length=max_length, add_special_tokens=False)
            logits = model(**{k: v.to(device) for k, v in batch.items()}).logits
            scores += [float(x) for x in logits[:, 0].float().cpu()]
    return scores


def evaluate_reward_model(
    store: Any, model: Any, tokenizer: Any, *, pairs_run: int, pairs_dataset: str | None,
    dataset: str, threshold_split: float, limit: int | None, length_threshold: int | None,
    edges: Sequence[int], batch_size: int = 32, max_length: int = 512,
    length_unit: str = DEFAULT_UNIT,
) -> dict[str, Any]:
    """Pairwise figures on the run's pairs and agreement on the labelled dataset (see module doc).

    `length_threshold` (in `length_unit`) None fits the length baseline on the fit split, as the
    score threshold is.

    Raises:
        ValueError: no pairs (`EmptyDataError`), no labelled items, or a split with an empty side.
    """
    from kindling.agents.judge.metrics import (
        binary_metrics,
        fit_length_threshold,
        length_baseline,
    )
    from kindling.rl.data import preference_dataset
    from kindling.rl.evaluate.metrics import judge_report
    from kindling.store.eval_data import labelled_items, rm_train_texts, split

    pairs = preference_dataset(store, pairs_run, pairs_dataset, limit).to_list()
    items = labelled_items(store, dataset)[:limit]
    if not items:
        raise EmptyDataError(f"no labelled items in dataset {dataset!r} (import the data first: "
                         "`kindling data import --from DIR`)")
    fit, held = split(items, threshold_split)
    if not fit or not held:
        raise FlagError(f"--threshold-split {threshold_split} leaves one side empty "
                         f"({len(fit)} fit / {len(held)} evaluated items)")
    seen = rm_train_texts(store)

    def scores(prompts: list[str], responses: list[str]) -> list[float]:
        return score_texts(model, tokenizer, prompts, responses, batch_size=batch_size,
                           max_length=max_length)

    prompts = [p["prompt"] for p in pairs]
    chosen, rejected = scores(prompts, [p["chosen"] for p in pairs]), scores(
        prompts, [p["rejected"] for p in pairs])
    pairwise = pairwise_report(
        chosen, rejected, [text_length(p["chosen"], length_unit) for p in pairs],
        [text_length(p["rejected"], length_unit) for p in pairs],
        [(p["prompt"], p["chosen"]) not in seen and (p["prompt"], p["rejected"]) not in seen
         for p in pairs], edges=edges)

    fit_scores = scores([i.query for i in fit], [i.response for i in fit])
    t = best_score_threshold(fit_scores, [i.label for i in fit])
    held_scores = scores([i.query for i in held], [i.response for i in held])
    if length_threshold is None:
        length_threshold = fit_length_threshold([(i.response, i.label) for i in fit],
                                                length_unit).threshold
    y_true = [i.label for i in held]
    lengths = [text_length(i.response, length_unit) for i in held]
    agreement = judge_report(y_true, score_predictions(held_scores, t), lengths,
                             [not i.seen_in_rm_train for i in held],
                             threshold=length_threshold, edges=edges)
    fit_labels = [i.label for i in fit]
    agreement["score_threshold"] = {
        "threshold": t, "fit_items": len(fit), "evaluated_items": len(held),
        "fit_accuracy": binary_metrics(fit_labels, score_predictions(fit_scores, t))["accuracy"],
        "fit_length_accuracy": binary_metrics(
            fit_labels, length_baseline([text_length(i.response, length_unit) for i in fit],
                                        length_threshold))["accuracy"],
    }
    agreement["threshold"], agreement["length_unit"] = length_threshold, length_unit
    return {"pairwise": pairwise, "agreement": agreement,
            "coverage": {"pairs": len(pairs), "labelled": len(items), "fit": len(fit),
                         "evaluated": len(held), "unseen_pairs": pairwise["unseen"]["n"],
                         "unseen_items": agreement["unseen"]["judge"]["n"]}}
