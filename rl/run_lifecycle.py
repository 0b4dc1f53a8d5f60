"""A training run's life in the store, shared by `sft`, `rm` and `grpo`: the run opened, its
per-step metrics written by the store callback (and shown on a rich live line), the trainer fitted,
and the run closed as finished, failed or stopped with its checkpoints.

Under a multi-process launch (`accelerate launch`), only the main process writes to the store
(`start_run`); the other ranks train alongside it and record nothing.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from kindling.rl.train_config import config_dicts, run_name
from kindling.store import work
from kindling.store.db import Store
from kindling.store.version import code_version
from pydantic import BaseModel
from rich.console import Console
from rich.live import Live
from rich.text import Text
from transformers import TrainerCallback

console = Console()


def checkpoint_paths(output_dir: str) -> list[str]:
    """The final model folder and its `checkpoint-<step>` folders, by step."""
    out = Path(output_dir)
    if not out.is_dir():
        return []
    steps = sorted((p for p in out.glob("checkpoint-*") if p.is_dir()),
                   key=lambda p: int(p.name.rsplit("-", 1)[1]) if p.name.rsplit("-", 1)[1].isdigit() else 0)
    return [str(out), *map(str, steps)]


def save_run_metrics(store: Store, run_id: int, metrics: dict[str, Any]) -> None:
    """Replace a running run's metrics (called at each logging step)."""
    work.save_metrics(store, run_id, metrics)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf
    return value


class StoreMetricsCallback(TrainerCallback):
    """Writes each logging step's metrics to the run row and shows them on a rich live line.

    With `store` None (a non-main rank of a multi-process launch) it writes and shows nothing.
    """

    def __init__(self, store: Store | None, run_id: int, *, live: bool = True) -> None:
        self.store, self.run_id = store, run_id
        self.static: dict[str, Any] = {}  # figures fixed for the run, stored beside the steps
        live = live and store is not None
        self.steps: list[dict[str, Any]] = []
        self._shown: dict[str, Any] = {}
        self._next_line = 0  # the next step printed to a file or pipe
        self._print = live and not console.is_terminal  # logs to a file: one line per step
        self._live = Live(Text("waiting for the first step"), console=console,
                          refresh_per_second=4, transient=False) if live and not self._print else None
        if self._live is not None:
            self._live.start()

    def metrics(self) -> dict[str, Any]:
        """What the run row holds so far: {"steps": [...]} and the `static` figures."""
        return {"steps": list(self.steps), **self.static}

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
               **kwargs: Any) -> None:
        """Record one logging step (also the final train summary TRL logs)."""
        if not logs or self.store is None:
            return
        entry = {"step": state.global_step, "epoch": _clean(state.epoch),
                 **{k: _clean(v) for k, v in logs.items()}}
        self.steps.append(entry)
        save_run_metrics(self.store, self.run_id, self.metrics())
        self._shown.update(entry)
        if self._live is not None:
            self._live.update(self._line(self._shown, state.max_steps))
        elif self._print and self._worth_a_line(entry, state):
            console.print(self._line(entry, state.max_steps), soft_wrap=True)

    def _worth_a_line(self, entry: dict[str, Any], state: Any) -> bool:
        """To a file or pipe, about ten lines a run: the first log after each tenth of the steps,
        the last step and the final summary (in a terminal the live line shows every step)."""
        step = entry["step"]
        if step < self._next_line and step < state.max_steps and "train_runtime" not in entry:
            return False
        self._next_line = step + max(1, state.max_steps // 10)
        return True

    def close(self) -> None:
        """Stop the live view (idempotent)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _line(self, entry: dict[str, Any], max_steps: int) -> Text:
        parts = [f"run {self.run_id}", f"step {entry['step']}/{max_steps}"]
        for key, label, fmt in (("loss", "loss", "{:.4f}"), ("learning_rate", "lr", "{:.2e}"),
                                ("grad_norm", "grad", "{:.3f}"), ("mean_token_accuracy", "acc", "{:.3f}"),
                                ("accuracy", "pair acc", "{:.3f}"), ("margin", "margin", "{:.2f}"),
                                ("train_loss", "train_loss", "{:.4f}")):
            if isinstance(entry.get(key), int | float):
                parts.append(f"{label} " + fmt.format(entry[key]))
        return Text("  ".join(parts), style="bold")


def fit(trainer: Any, *, live: bool) -> Any:
    """Train and save; with the live view on, the Trainer's own progress output is removed (the
    callback draws): its tqdm bar, or the raw dict it prints per log when tqdm is off (as it is
    when the libraries are quiet, kindling/quiet.py)."""
    if live:
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        trainer.remove_callback(ProgressCallback)
        trainer.remove_callback(PrinterCallback)
    output = trainer.train()
    trainer.save_model()
    return output


def start_run(store: Store, kind: str, kcfg: BaseModel, trl_cfg: Any, *, live: bool,
              callback: type[StoreMetricsCallback] = StoreMetricsCallback) -> StoreMetricsCallback:
    """Open a `kind` run and its store callback; under a multi-process launch, on rank 0 only.

    The main process (the only one without a launcher) creates the run row; its id is broadcast
    to the other ranks, whose callback has no store: it writes and shows nothing, and
    `record_success` / `record_failure` leave the run to rank 0.
    """
    from accelerate.utils import broadcast_object_list

    main = trl_cfg.process_index == 0  # TrainingArguments' view of accelerate's PartialState
    run_id = None
    if main:
        run, _ = work.get_or_create_run(store, kind=kind, run_key=None, code_version=code_version(),
                                        config=config_dicts(kcfg, trl_cfg),
                                        name=run_name(kind, kcfg))
        run_id = run.id
    [run_id] = broadcast_object_list([run_id])
    return callback(store if main else None, run_id, live=live)


def record_failure(callback: StoreMetricsCallback, exc: BaseException) -> None:
    """Close the live view and mark the run failed with the error and the steps so far."""
    callback.close()
    if callback.store is not None:
        work.finish_run(callback.store, callback.run_id, "failed",
                        {**callback.metrics(), "error": repr(exc)[:2000]})


def record_stopped(callback: StoreMetricsCallback, reason: str) -> None:
    """Close the live view and mark the run stopped with the reason and the steps so far."""
    callback.close()
    if callback.store is not None:
        work.stop_run(callback.store, callback.run_id, reason, callback.metrics())


def record_success(callback: StoreMetricsCallback, output: Any, output_dir: str, **extra: Any) -> None:
    """Close the live view and mark the run finished: steps, TRL's final metrics, checkpoints."""
    callback.close()
    if callback.store is not None:
        work.finish_run(callback.store, callback.run_id, "finished", {
            **callback.metrics(), "final": output.metrics, "output_dir": output_dir,
            "checkpoints": checkpoint_paths(output_dir), **extra})
