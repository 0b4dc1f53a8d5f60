"""GRPO's store callback and the reward-hacking watch: the live line, the watch/* signals' tap,
the rules checked at each logging step and the completions kept per logged step."""

from __future__ import annotations

import statistics
from typing import Any

from kindling.rl.grpo_samples import CompletionSampler
from kindling.rl.run_lifecycle import StoreMetricsCallback, console
from kindling.rl.train_config import KindlingGRPO
from kindling.rl.watch import LengthReference, SignalTap
from kindling.rl.watch_rules import RuleWatcher
from rich.text import Text


class GRPOMetricsCallback(StoreMetricsCallback):
    """The store callback, with GRPO's figures on the live line (reward, kl, completion length),
    the watch rules checked at every logging step (alerts printed and stored with the run;
    a `stop` rule ends training there) and a few completions of each training step kept."""

    watcher: RuleWatcher | None = None
    tap: SignalTap | None = None
    sampler: CompletionSampler | None = None

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
               **kwargs: Any) -> None:
        """Check the watch rules on this step's signals, then record the step."""
        if self.tap is not None and self.tap.reference is not None and "watch" in self.static:
            self.static["watch"]["reference"] = self.tap.reference.as_dict()
        if logs and self.watcher is not None:  # every rank: TRL logs the same gathered figures
            for alert in self.watcher.check(state.global_step, logs):
                if alert["action"] == "stop":
                    control.should_training_stop = True  # on every rank, or the others would wait
                if self.store is not None:
                    self._record_alert(alert)
        super().on_log(args, state, control, logs, **kwargs)
        if logs and "reward" in logs and self.sampler is not None:  # a training step's log
            self.sampler.keep(state.global_step)

    def _record_alert(self, alert: dict[str, Any]) -> None:
        """Print an alert above the live line and keep it with the run (a stop: as stopped_by)."""
        self.static.setdefault("watch_alerts", []).append(alert)
        verb = "stopping" if alert["action"] == "stop" else "warning"
        now = (f"{alert['value']:+.0%}" if alert["metric"] == "length_drift"
               else f"{alert['value']:g}")
        console.print(f"[bold yellow]watch {verb}[/] at step {alert['step']}: {alert['rule']} "
                      f"(now {now})", highlight=False)
        if alert["action"] == "stop":
            self.static.setdefault("stopped_by", alert)

    def _line(self, entry: dict[str, Any], max_steps: int) -> Text:
        parts = [f"run {self.run_id}", f"step {entry['step']}/{max_steps}"]
        for key, label, fmt in (("reward", "reward", "{:.3f}"), ("reward_std", "±", "{:.3f}"),
                                ("kl", "kl", "{:.4f}"),
                                ("completions/mean_length", "tokens", "{:.1f}"),
                                ("watch/length_chars", "chars", "{:.0f}"),
                                ("watch/length_drift", "drift", "{:+.0%}"),
                                ("loss", "loss", "{:.4f}"), ("train_loss", "train_loss", "{:.4f}")):
            if isinstance(entry.get(key), int | float):
                parts.append(f"{label} " + fmt.format(entry[key]))
        return Text("  ".join(parts), style="bold")


def length_band_of(funcs: list[Any]) -> dict[str, Any]:
    """{"length_band": [low, high]} (characters) when length_control is among the rewards: the
    studio draws it on the character-length curve."""
    for func in funcs:
        if getattr(func, "__name__", "") == "length_control" and hasattr(func, "low"):
            return {"length_band": [round(func.low, 1), round(func.high, 1)]}
    return {}


def watch_rewards(kcfg: KindlingGRPO, funcs: list[Any], callback: Any,
                  reference_lengths: Any = None, language: str = "zh",
                  length_unit: str = "chars") -> list[Any]:
    """The reward functions TRL gets: tapped for the watch/* signals when `kindling.watch` is on,
    the rules armed. Length drift is measured against the mean of length_control's reference
    lengths (like against like: a mean), else against the first batch's mean."""
    if not kcfg.watch.enabled:
        return list(funcs)
    band = length_band_of(funcs).get("length_band")
    reference = (LengthReference(statistics.fmean(reference_lengths), "length_control",
                                 (band[0], band[1]))
                 if band and reference_lengths else None)
    tap = SignalTap(dict(kcfg.rewards), reference, kcfg.watch.self_bleu_texts,
                    language=language, length_unit=length_unit)
    callback.watcher = RuleWatcher(kcfg.watch.rules)
    callback.static["watch"] = {"rules": [r.describe() + f" → {r.action}" for r in kcfg.watch.rules],
                                "reference": reference.as_dict() if reference else
                                {"source": "first batch"}}
    callback.tap = tap
    return tap.wrap(funcs)
