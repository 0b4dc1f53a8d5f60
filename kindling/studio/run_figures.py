"""The figures the runs list shows for each run, by kind: what a GRPO run's reward and length
did, a curate run's items and agreement with the labels, an eval run's headline figure, ...

Each run gets (label, value) pairs; the labels of a kind are fixed (`COLUMNS`), so a list
filtered to one kind shows them as columns. A figure a run does not have reads "–", never 0.
"""

from __future__ import annotations

from typing import Any

from kindling.agents.language import unit_name
from kindling.store.models import Run
from kindling.store.run_summary import short

COLUMNS: dict[str, tuple[str, ...]] = {
    "grpo": ("steps", "last reward", "length", "length drift", "alerts"),
    "sft": ("steps", "last loss"),
    "rm": ("steps", "last loss", "accuracy"),
    "curate": ("items", "pairs", "agreement with labels"),
    "judge": ("judged", "verdicts", "failed"),
    "adversarial": ("iterations", "validation F1", "stopped"),
    "eval": ("headline figure",),
    "import": ("records added", "new rows"),
}
"""The figures of each kind, in column order (other kinds show their scalar metrics)."""
NONE = "–"


def run_figures(run: Run, counts: dict[str, int],
                agreement: tuple[int, int] | None) -> dict[str, str]:
    """A run's figures for the runs list, as label → display text.

    Args:
        run: The run (its kind, metrics and config are read).
        counts: Its work items: {"items", "done", "failed", "pairs"}.
        agreement: (verdicts equal to the label, labelled verdicts), for a curate run.

    Returns:
        The kind's COLUMNS in order (a missing figure is "–"); for another kind, up to four
        of its scalar metrics.
    """
    metrics = run.metrics if isinstance(run.metrics, dict) else {}
    maker = _FIGURES.get(run.kind)
    if maker is None:
        return {k: short(v) for k, v in list(_scalars(metrics).items())[:4]}
    shown = maker(run, metrics, counts, agreement)
    return {label: shown.get(label) or NONE for label in COLUMNS[run.kind]}


def _scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items()
            if isinstance(v, int | float) and not isinstance(v, bool)}


def _last(metrics: dict[str, Any], *keys: str) -> tuple[str, float] | None:
    """The newest logged value of the first of `keys` any training step has: (key, value)."""
    steps = metrics.get("steps")
    for entry in reversed(steps if isinstance(steps, list) else []):
        if not isinstance(entry, dict):
            continue
        for key in keys:
            value = entry.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return key, float(value)
    return None


def _steps(metrics: dict[str, Any]) -> str | None:
    """How many training steps were logged (TRL's closing summary, with its train_runtime, is not
    one)."""
    steps = metrics.get("steps")
    logged = [e for e in steps if isinstance(e, dict) and "train_runtime" not in e] if isinstance(
        steps, list) else []
    return str(len(logged)) if logged else None


def _grpo(run: Run, metrics: dict[str, Any], *_: Any) -> dict[str, str | None]:
    reward = _last(metrics, "reward")
    chars = _last(metrics, "watch/length_chars", "length_control/mean_length")
    tokens = _last(metrics, "completions/mean_length", "completion_length")
    task = run.config.get("task_used") if isinstance(run.config, dict) else None
    unit = task.get("length_unit") if isinstance(task, dict) else None
    length = (f"{chars[1]:.0f} {unit_name(unit if unit in ('chars', 'words') else 'chars')}"
              if chars else
              f"{tokens[1]:.0f} tokens" if tokens else None)
    drift = _last(metrics, "watch/length_drift")
    alerts = [a for a in metrics.get("watch_alerts") or [] if isinstance(a, dict)]
    fired = (f"{len(alerts)} (first at step {alerts[0].get('step')})" if alerts
             else "none" if "watch" in metrics or drift else None)
    return {"steps": _steps(metrics), "last reward": short(reward[1]) if reward else None,
            "length": length, "length drift": f"{drift[1]:+.0%}" if drift else None,
            "alerts": fired}


def _training(run: Run, metrics: dict[str, Any], *_: Any) -> dict[str, str | None]:
    loss = _last(metrics, "loss")
    final = metrics["final"] if isinstance(metrics.get("final"), dict) else {}
    if loss is None and isinstance(final.get("train_loss"), int | float):
        loss = ("train_loss", float(final["train_loss"]))
    accuracy = _last(metrics, "eval_accuracy", "accuracy")
    return {"steps": _steps(metrics), "last loss": short(loss[1]) if loss else None,
            "accuracy": short(accuracy[1]) if accuracy else None}


def _curate(run: Run, metrics: dict[str, Any], counts: dict[str, int],
            agreement: tuple[int, int] | None) -> dict[str, str | None]:
    items = (f"{counts['done']} done" + (f", {counts['failed']} failed" if counts["failed"]
                                         else "") + f" of {counts['items']}"
             if counts["items"] else None)
    agree, labelled = agreement or (0, 0)
    agrees = (f"{agree} of {labelled} ({100 * agree / labelled:.0f}%)" if labelled
              else "no labelled items" if counts["done"] else None)
    return {"items": items, "pairs": str(counts["pairs"]), "agreement with labels": agrees}


def _judge(run: Run, metrics: dict[str, Any], *_: Any) -> dict[str, str | None]:
    number = _scalars(metrics)
    judged = number.get("items", number.get("judged"))
    verdicts = (f"{number['good']} good, {number['bad']} not good"
                if "good" in number and "bad" in number else None)
    failed = number.get("failed")
    flagged = number.get("flagged")
    return {"judged": None if judged is None else str(judged), "verdicts": verdicts,
            "failed": None if failed is None else str(failed) + (
                f" (+{flagged} flagged by the guard)" if flagged else "")}


def _adversarial(run: Run, metrics: dict[str, Any], *_: Any) -> dict[str, str | None]:
    history = [h for h in metrics.get("history") or [] if isinstance(h, dict)]
    f1s = [float(h["f1"]) for h in history if isinstance(h.get("f1"), int | float)]
    return {"iterations": str(max(len(history) - 1, 0)) if history else
            short(metrics["iterations"]) if "iterations" in metrics else None,
            "validation F1": f"{f1s[0]:.2f} → best {max(f1s):.2f}" if f1s else None,
            "stopped": str(metrics["stop"]) if metrics.get("stop") else None}


def _eval(run: Run, metrics: dict[str, Any], *_: Any) -> dict[str, str | None]:
    return {"headline figure": eval_headline(run.config or {}, metrics)}


def eval_headline(config: dict[str, Any], metrics: dict[str, Any]) -> str | None:
    """An eval run's headline figure, beside the length-only baseline where it has one."""
    source = config.get("source")
    if source in ("curate", "judge"):
        return _versus(metrics, f"{source} accuracy")
    if source == "rm":
        overall = _dig(metrics, "pairwise", "overall")
        if isinstance(overall, dict) and overall.get("rm") is not None:
            longer = overall.get("length")
            return f"pairwise accuracy {overall['rm']:.2f}" + (
                f" (longer-is-chosen {longer:.2f})" if isinstance(longer, int | float) else "")
        return _versus(metrics.get("agreement") or {}, "rm accuracy")
    if source == "policy" and isinstance(metrics.get("policies"), dict):
        return _policies(metrics["policies"], config.get("length_threshold"))
    return None


def _versus(metrics: dict[str, Any], what: str) -> str | None:
    mine, base = _dig(metrics, "overall", "accuracy"), _dig(metrics, "baseline", "accuracy")
    if not isinstance(mine, int | float):
        return None
    return f"{what} {mine:.2f}" + (f" (length-only {base:.2f})"
                                   if isinstance(base, int | float) else "")


def _policies(policies: dict[str, Any], threshold: Any) -> str | None:
    """Each policy's excellence rate (judge, else RM), else its share longer than the length
    rule's threshold."""
    for path, what in ((("judge", "excellence", "rate"), "judge excellence"),
                       (("rm", "excellence", "rate"), "RM excellence"),
                       (("length_rule",), f"share longer than {threshold}")):
        rates = {label: _dig(m, *path) for label, m in policies.items()}
        if rates and all(isinstance(r, int | float) for r in rates.values()):
            return f"{what}: " + ", ".join(f"{k} {v:.2f}" for k, v in rates.items())
    return None


def _dig(metrics: Any, *path: str) -> Any:
    for key in path:
        metrics = metrics.get(key) if isinstance(metrics, dict) else None
    return metrics


def _import(run: Run, metrics: dict[str, Any], *_: Any) -> dict[str, str | None]:
    def listed(key: str) -> str | None:
        counts = metrics.get(key)
        shown = [f"{k} {v}" for k, v in counts.items() if v] if isinstance(counts, dict) else []
        return ", ".join(shown) or None

    return {"records added": listed("added"), "new rows": listed("tables")}


_FIGURES = {"grpo": _grpo, "sft": _training, "rm": _training, "curate": _curate,
            "judge": _judge, "adversarial": _adversarial, "eval": _eval, "import": _import}
