"""Evaluation runs (kind "eval") as tables, the length-only baseline beside every figure.

The eval commands store three shapes of metrics (see kindling/commands/evaluate.py, eval_rm.py,
eval_policy.py): a judge's (`source` curate or judge), a reward model's (`rm`) and policies'
(`policy`). Each becomes a list of tables {title, caption, columns, rows} of display strings.
"""

from __future__ import annotations

from typing import Any

from kindling.agents.language import unit_name
from kindling.store.models import Run

FIGURES = (("accuracy", "acc"), ("precision", "prec"), ("recall", "rec"), ("f1", "F1"))


def _num(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _dig(metrics: dict[str, Any], *path: str) -> Any:
    for key in path:
        metrics = metrics.get(key) if isinstance(metrics, dict) else None  # type: ignore[assignment]
    return metrics


def eval_tables(run: Run) -> list[dict[str, Any]]:
    """The run's tables; an unknown metrics shape gives none (the raw metrics are shown anyway)."""
    metrics, config = run.metrics or {}, run.config or {}
    source = config.get("source")
    if source in ("curate", "judge") and "overall" in metrics:
        return [versus_table(source, metrics, metrics.get("threshold"))]
    if source == "rm" and "pairwise" in metrics:
        agreement = metrics.get("agreement") or {}
        return [pairwise_table(metrics["pairwise"]),
                versus_table("rm", agreement, agreement.get("threshold"))]
    if source == "policy" and "policies" in metrics:
        return [policy_table(metrics["policies"], config.get("length_threshold"),
                             _policy_unit(config))]
    return []


def _unit(value: Any) -> str:
    """A stored length unit in words for a caption (characters when unknown or unrecorded)."""
    return unit_name(value) if value in ("chars", "words") else "characters"


def _policy_unit(config: dict[str, Any]) -> Any:
    """A policy eval's length unit: its length rule's, else its task's (else characters)."""
    return (_dig(config, "length_rule", "unit") or _dig(config, "task_used", "length_unit")
            or "chars")


def versus_table(predictor: str, metrics: dict[str, Any], threshold: Any) -> dict[str, Any]:
    """Accuracy, precision, recall and F1 of a predictor, each beside the length rule's (in the
    unit the metrics record)."""
    base = f"len>{threshold}"
    columns = ["subset", "n"]
    for _key, short in FIGURES:
        columns += [f"{short} {predictor}", f"{short} {base}"]
    subsets = [("all", metrics.get("overall"), metrics.get("baseline"))]
    subsets += [(band, pair.get("judge"), pair.get("baseline"))
                for band, pair in (metrics.get("bands") or {}).items()]
    unseen = metrics.get("unseen") or {}
    subsets.append(("unseen", unseen.get("judge"), unseen.get("baseline")))
    rows = []
    for name, mine, theirs in subsets:
        if not isinstance(mine, dict) or not isinstance(theirs, dict):
            continue
        row = [name, _num(mine.get("n"))]
        for key, _short in FIGURES:
            row += [_num(mine.get(key)), _num(theirs.get(key))]
        rows.append(row)
    fitted = metrics.get("fitted")
    caption = (f"{base}: the length-only baseline (good iff longer than {threshold} "
               f"{_unit(metrics.get('length_unit', 'chars'))}), "
               "in the column beside each figure; unseen: not in RM training pairs")
    if isinstance(fitted, dict):
        caption += (f"; a threshold fitted on {fitted.get('fit_items')} held-out items "
                    f"(len>{fitted.get('threshold')}) reaches accuracy "
                    f"{_num(_dig(fitted, 'baseline', 'accuracy'))}")
    return {"title": f"{predictor} vs labels", "caption": caption, "columns": columns,
            "rows": rows}


def pairwise_table(pairwise: dict[str, Any]) -> dict[str, Any]:
    """A reward model's pairwise accuracy beside "the longer response is chosen"."""
    subsets = [("all", pairwise.get("overall")), *(pairwise.get("bands") or {}).items(),
               ("unseen", pairwise.get("unseen"))]
    rows = [[name, _num(m.get("n")), _num(m.get("rm")), _num(m.get("length")),
             _num(m.get("rm_ties")), _num(m.get("length_ties"))]
            for name, m in subsets if isinstance(m, dict)]
    return {"title": "reward model: pairwise accuracy",
            "caption": "longer: the longer response is predicted chosen (the length-only "
                       "baseline); bands by the chosen response's length",
            "columns": ["subset", "n", "rm", "longer", "rm ties", "length ties"], "rows": rows}


def policy_table(policies: dict[str, Any], threshold: Any, unit: Any = "chars") -> dict[str, Any]:
    """One row per policy: excellence rates beside the length rule, length and diversity
    (lengths in `unit`)."""
    base = f"len>{threshold}"
    rows = []
    for label, m in policies.items():
        rows.append([label, _num(m.get("samples")), _num(_dig(m, "rm", "excellence", "rate")),
                     _num(_dig(m, "judge", "excellence", "rate")), _num(m.get("length_rule")),
                     _num(m.get("mean_length"), 1), _num(m.get("distinct_1")),
                     _num(m.get("distinct_2")), _num(m.get("self_bleu"), 1)])
    return {"title": "policies on held-out prompts",
            "caption": f"{base}: share of samples longer than {threshold} {_unit(unit)} (the "
                       "length-only rule the labels track), beside each excellence rate; mean "
                       f"length in {_unit(unit)}",
            "columns": ["policy", "samples", "RM excellence", "judge excellence", base,
                        "mean length", "distinct-1", "distinct-2", "self-BLEU"], "rows": rows}
