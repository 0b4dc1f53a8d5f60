"""GRPO reward functions, named in config and weighted: `rm`, `judge`, `length_control`, `guard`,
and TRL's own helpers `repetition_penalty`, `soft_overlong`.

Every reward is a small callable class with TRL's reward-function signature
``(prompts, completions, **kwargs) -> list[float | None]`` and a ``__name__`` (TRL names the
``rewards/<name>/mean`` metrics after it). TRL 1.16's GRPOTrainer passes, among its kwargs,
``log_metric(name, value)`` (scalar metrics averaged per logging step) and
``log_extra(column, values)`` (extra columns of the completions table); the rewards here log
through them when given, and work without them (called outside a trainer).

Completions are plain strings (standard format) or lists of ``{"role", "content"}`` messages
(conversational format); `completion_text` and `prompt_text` read both.

`None` for one completion means "no reward from this function" (TRL turns it into NaN and leaves
it out of that function's mean; a completion with no reward at all gets zero advantage).

Modules: core.py (the signature and text helpers), builtin.py (`length_control`, `guard`, `rm`),
judge.py (`judge`), trl_helpers.py (`repetition_penalty`, `soft_overlong` from trl.rewards, and
their `kindling.reward_options`), registry.py (names in config → reward functions).
"""
