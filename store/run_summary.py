"""A run in a few lines: what ran, on what, the key figures, where the outputs are.

What `kindling runs show` prints (its `--full` prints the whole config and metrics instead) and
what the studio's run header shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a type only: reading TASK_KEY (a config's task field) loads no SQLAlchemy
    from kindling.store.models import Run

INPUT_KEYS = {
    "sft": ("kindling.model", "kindling.dataset", "kindling.limit", "kindling.lora"),
    "rm": ("kindling.model", "kindling.pairs_run", "kindling.pairs_dataset", "kindling.lora"),
    "grpo": ("kindling.model", "kindling.dataset", "kindling.rewards", "kindling.rm_model",
             "kindling.limit", "kindling.lora"),
    "curate": ("source", "dataset", "limit", "prompt_set", "llm.backend", "llm.model",
               "llm.base_url", "llm.api_key_env", "policy.model"),
    "adversarial": ("iterations", "batch_size", "llm.backend", "llm.model", "llm.base_url",
                    "llm.api_key_env"),
    "judge": ("principles", "llm.model", "samples", "item"),
    "eval": ("source", "model", "ids", "length_threshold"),
    "import": ("source", "folder", "file", "dataset"),
    "pairs": ("source_run", "per_query"),
    "endpoint": ("base_url", "model"),
}
"""Config keys (dotted) that say what a run of each kind ran on."""
TRAIN_SETTINGS = ("trl.max_steps", "trl.num_train_epochs", "trl.learning_rate",
                  "trl.per_device_train_batch_size", "trl.num_generations", "trl.beta",
                  "trl.loss_type", "trl.seed")
"""TRL settings worth a line in a summary (the rest are in --full)."""
FIGURE_KEYS = ("loss", "reward", "kl", "completions/mean_length", "watch/length_chars",
               "watch/length_drift", "accuracy", "margin", "train_loss", "train_runtime")
"""Training figures shown from the last logged step (and the final summary line)."""


def dotted(config: dict[str, Any], key: str) -> Any:
    """config["a"]["b"] for "a.b"; None when any part is missing."""
    value: Any = config
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def short(value: Any) -> str:
    """A value in a few characters: floats to 4 significant digits, long text cut."""
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def debug_marks(config: dict[str, Any]) -> list[str]:
    """How the run was driven by hand: stepped, forked from a run, state fields edited."""
    marks = ["stepped"] if config.get("stepped") else []
    fork = config.get("forked_from")
    if isinstance(fork, dict):
        marks.append(f"forked from run {fork.get('run_id')}")
    edits = config.get("edits") or []
    if edits:
        fields = ", ".join(dict.fromkeys(str(e.get("field")) for e in edits))
        marks.append(f"edited: {fields}")
    return marks


TASK_KEY = "task_used"
"""The key of a run's config that records its task: {"name", "hash", "language", "length_unit"}."""


def task_line(config: dict[str, Any]) -> str | None:
    """The run's task as one line (name, content hash, language, unit); None: none recorded."""
    task = config.get(TASK_KEY)
    if not isinstance(task, dict):
        return None
    return (f"{task.get('name')} (hash {str(task.get('hash'))[:12]}, {task.get('language')}, "
            f"lengths in {task.get('length_unit')})")


def run_summary(run: Run, counts: dict[str, int] | None = None) -> list[tuple[str, str]]:
    """(label, value) lines summing the run up; `counts` are its item counts, when it has items."""
    from kindling.store.run_liveness import status_line

    config, metrics = run.config or {}, run.metrics or {}
    lines = [("run", f"{run.id} {run.kind}" + (f" · {run.name}" if run.name else "")),
             ("status", status_line(run)), ("started", f"{run.started_at:%Y-%m-%d %H:%M:%S}")]
    if run.finished_at:
        seconds = (run.finished_at - run.started_at).total_seconds()
        lines.append(("finished", f"{run.finished_at:%Y-%m-%d %H:%M:%S} ({seconds:.0f} s)"))
    marks = debug_marks(config)
    if marks:
        lines.append(("by hand", "; ".join(marks)))
    if (task := task_line(config)) is not None:
        lines.append(("task", task))
    keys = INPUT_KEYS.get(run.kind, ()) + (TRAIN_SETTINGS if "trl" in config else ())
    lines += [(key.split(".", 1)[-1] if key.startswith(("kindling.", "trl.")) else key,
               short(dotted(config, key))) for key in keys if dotted(config, key) is not None]
    if counts:
        lines.append(("items", ", ".join(f"{v} {k}" for k, v in counts.items() if v)))
    lines += _figures(metrics)
    output = dotted(config, "trl.output_dir")
    if output:
        lines.append(("output", str(output)))
    return lines


def _figures(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    steps = metrics.get("steps")
    if isinstance(steps, list) and steps:
        last = {k: v for entry in steps if isinstance(entry, dict) for k, v in entry.items()}
        shown = [f"{k} {short(last[k])}" for k in FIGURE_KEYS if _number(last.get(k))]
        logged = [e for e in steps if isinstance(e, dict) and "train_runtime" not in e]
        out = [("logged steps", str(len(logged))),  # TRL's closing summary is not a step
               ("last values", ", ".join(shown) or "-")]
        alerts = [a for a in metrics.get("watch_alerts") or [] if isinstance(a, dict)]
        if alerts:
            out.append(("watch alerts", "; ".join(f"step {a.get('step')}: {a.get('rule')} → "
                                                   f"{a.get('action')}" for a in alerts[:3])
                        + (f" (+{len(alerts) - 3} more)" if len(alerts) > 3 else "")))
        return out
    scalars = [f"{k} {short(v)}" for k, v in metrics.items() if _number(v)]
    nested = [k for k, v in metrics.items() if isinstance(v, dict | list)]
    out = [("figures", ", ".join(scalars[:8]))] if scalars else []
    if "error" in metrics:
        out.append(("error", short(metrics["error"])))
    if nested:
        out.append(("more", ", ".join(nested[:8])))  # the CLI and the studio each say where
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
