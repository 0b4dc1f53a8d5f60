"""A readable name for an evaluation run, from what it evaluated (its stored config)."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

MAX_NAME = 200
"""runs.name's length: a longer name is cut, ending in "…"."""


def eval_run_name(config: dict[str, Any] | None, metrics: dict[str, Any] | None = None) -> str:
    """What an `eval` run evaluated, in a few words: "eval policy: base, sft, grpo-rm",
    "eval rm: rm-out", "eval judge: run 12".

    Args:
        config: The eval run's config (as the eval commands store it; any older shape works).
        metrics: Its metrics, for a policy eval whose config does not list the policies.

    Returns:
        The name, at most MAX_NAME characters; "eval" alone when the config says nothing usable.
    """
    name = _described(config, metrics)
    return name if len(name) <= MAX_NAME else name[:MAX_NAME - 1] + "…"


def _described(config: dict[str, Any] | None, metrics: dict[str, Any] | None) -> str:
    config = config if isinstance(config, dict) else {}
    source = config.get("source")
    if not isinstance(source, str) or not source:
        return "eval"
    if source == "policy":
        labels = [*_keys(config.get("policies")), *_keys(config.get("endpoints"))]
        labels = labels or _keys((metrics or {}).get("policies"))
        return f"eval policy: {', '.join(labels)}" if labels else "eval policy"
    if source == "rm":
        model = config.get("model")
        return f"eval rm: {PurePath(str(model)).name or model}" if model else "eval rm"
    ids = config.get("ids")
    if isinstance(ids, list) and ids:
        return f"eval {source}: run {', '.join(str(i) for i in ids)}"
    return f"eval {source}"


def _keys(value: Any) -> list[str]:
    return [str(k) for k in value] if isinstance(value, dict) else []
