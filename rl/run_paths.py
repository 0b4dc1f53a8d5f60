"""Path-valued fields of a training run config resolved to absolute paths (agents/paths.py).

Kindling's part marks its path fields in its pydantic models; TRL's part is TRL's own dataclass,
left unchanged, so its path fields are named here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kindling.agents.paths import PathRule, resolve_dotted, resolve_paths, resolve_value
from pydantic import BaseModel

TRL_PATH_FIELDS: dict[str, PathRule] = {
    "output_dir": PathRule.PATH,
    "resume_from_checkpoint": PathRule.PATH,
    "deepspeed": PathRule.PATH,           # a JSON file (or a mapping, left as it is)
    "fsdp_config": PathRule.PATH,         # as deepspeed
    "accelerator_config": PathRule.PATH,  # as deepspeed
    "chat_template_path": PathRule.MODEL,  # a template file, a tokenizer folder or a hub id
}
"""TRL/transformers config fields that hold a path, and how each is read."""


def resolve_sections(kindling_model: type[BaseModel], data: dict[str, Any],
                     base: Path) -> dict[str, Any]:
    """A run config's `kindling` and `trl` sections with their paths resolved against `base`."""
    out = dict(data)
    if isinstance(data.get("kindling"), dict):
        out["kindling"] = resolve_paths(kindling_model, data["kindling"], base)
    if isinstance(data.get("trl"), dict):
        out["trl"] = {key: _resolve_trl(key, value, base) for key, value in data["trl"].items()}
    return out


def resolve_override(kindling_model: type[BaseModel], dotted: str, value: Any,
                     base: Path) -> Any:
    """An override's value (`kindling.<field>` or `trl.<field>`) with a path resolved."""
    section, _, rest = dotted.partition(".")
    if section == "kindling" and rest:
        return resolve_dotted(kindling_model, rest, value, base)
    if section == "trl" and rest:
        return _resolve_trl(rest, value, base)
    return value


def _resolve_trl(key: str, value: Any, base: Path) -> Any:
    rule = TRL_PATH_FIELDS.get(key)
    return value if rule is None else resolve_value(rule, value, base)


def absolute_output_dir(trl_config: Any) -> Any:
    """TRL's config with its output folder absolute (TRL's default, when none was given, is
    relative to the current folder)."""
    out = getattr(trl_config, "output_dir", None)
    if isinstance(out, str) and not os.path.isabs(out):
        trl_config.output_dir = os.path.abspath(out)
    return trl_config
