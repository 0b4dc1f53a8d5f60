"""Training run configs: Kindling's own part (strict pydantic) beside TRL's config, unchanged.

A run config is one YAML file with two sections::

    kindling:            # ours: model, data selection, LoRA (rewards for grpo later)
      model: models/tiny
      dataset: sft
    trl:                 # TRL's own SFTConfig / RewardConfig / GRPOConfig fields, as TRL names them
      output_dir: runs/sft_tiny
      learning_rate: 5.0e-4

One file may also hold several run types, each with its own two sections (configs/paper.yaml)::

    sft:  {kindling: ..., trl: ...}
    rm:   {kindling: ..., trl: ...}
    grpo: {kindling: ..., trl: ...}

`kindling train <kind>` then uses the `<kind>` section; mixing run types with `kindling`/`trl` at
the top level is an error.

CLI overrides are dotted keys (`kindling.limit=100`, `trl.learning_rate=1e-4`) and win over the
YAML (in a multi-run file, over the chosen run type's section). Unknown keys in either section are
errors naming the file and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from kindling.agents.config import (
    ConfigError,
    Strict,
    did_you_mean,
    fields_at,
    parse_value,
    read_yaml_mapping,
    set_dotted,
)
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.paths import ModelRef, config_base
from kindling.agents.task_ref import TASK_KEY, TaskRef, task_field, task_record
from kindling.rl.grpo_samples import SamplesConfig
from kindling.rl.rewards.trl_helpers import RewardOptions, RewardOptionsField
from kindling.rl.run_paths import absolute_output_dir, resolve_override, resolve_sections
from kindling.rl.trl_config import build_trl_config, trl_config_class
from kindling.rl.watch_rules import WatchConfig
from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator

__all__ = ["ConfigError", "KindlingGRPO", "KindlingRM", "KindlingSFT", "LoraSpec", "load_train_config",
           "read_run_yaml", "run_name"]

SECTIONS = ("kindling", "trl")


class LoraSpec(Strict):
    """PEFT LoRA adapter settings (needs `peft` installed)."""

    r: int = Field(8, ge=1, description="Rank of the low-rank update matrices.")
    alpha: int = Field(16, ge=1, description="LoRA scaling numerator (lora_alpha).")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA path.")
    target_modules: list[str] | str = Field("all-linear", description="Module names to adapt, or 'all-linear'.")


class KindlingSFT(Strict):
    """`kindling train sft`: supervised fine-tuning on an imported dataset's (query, response) rows."""

    name: str | None = Field(None, min_length=1, max_length=200, description="The run's name in `kindling runs` and the studio (None: sft, rm, or grpo- and the rewards, e.g. grpo-rm+length).")
    model: ModelRef = Field(..., description="Causal LM to train: a hub id or a local folder (model + tokenizer).")
    dataset: str = Field("sft", description="Imported dataset whose (query, response) rows are the SFT data.")
    limit: int | None = Field(None, ge=1, description="Use at most this many rows (file order).")
    lora: LoraSpec | None = Field(None, description="Train a LoRA adapter instead of all weights (None: full fine-tuning).")


class KindlingRM(Strict):
    """`kindling train rm`: a reward model on preference pairs (an import run's or Path A's)."""

    name: str | None = Field(None, min_length=1, max_length=200, description="The run's name in `kindling runs` and the studio (None: sft, rm, or grpo- and the rewards, e.g. grpo-rm+length).")
    model: ModelRef = Field(..., description="Base model for sequence classification: a hub id or a local folder.")
    pairs_run: int = Field(..., ge=1, description="Run holding the pairs: an import run (the paper's RM pairs) or a pairs run (Path A).")
    pairs_dataset: str | None = Field(None, description="Keep only pairs recorded in this imported dataset (rm_train, rm_test: an import run holds both); None: all.")
    limit: int | None = Field(None, ge=1, description="Use at most this many pairs.")
    lora: LoraSpec | None = Field(None, description="Train a LoRA adapter instead of all weights.")


REWARD_NAMES = ("rm", "judge", "length_control", "guard", "repetition_penalty", "soft_overlong")
"""Reward names GRPO accepts (rl/rewards/registry.py BUILDERS; kept here so config loading stays light)."""


class KindlingGRPO(Strict):
    """`kindling train grpo`: GRPO of a policy on an imported dataset's prompts, with named rewards."""

    name: str | None = Field(None, min_length=1, max_length=200, description="The run's name in `kindling runs` and the studio (None: sft, rm, or grpo- and the rewards, e.g. grpo-rm+length).")
    task: TaskRef = task_field()
    model: ModelRef = Field(..., description="Policy to train: a hub id or a local folder (model + tokenizer with a chat_template), e.g. an SFT output dir.")
    dataset: str = Field("grpo_train", description="Imported dataset whose queries are the prompts.")
    limit: int | None = Field(None, ge=1, description="Use at most this many prompts (file order).")
    lora: LoraSpec | None = Field(None, description="Train a LoRA adapter instead of all weights.")
    rewards: dict[str, float] = Field(..., description="Reward name -> weight (rm, judge, length_control, guard; TRL's helpers repetition_penalty, soft_overlong), e.g. {rm: 1.0, length_control: 1.0}.")
    reward_options: RewardOptionsField = Field(default_factory=RewardOptions, validate_default=True, description="Arguments of the rewards built from TRL's helpers, by reward name: {repetition_penalty: {ngram_size: 3, max_penalty: -1.0}, soft_overlong: {soft_punish_cache: 16, max_completion_len: null}} (trl.rewards' parameter names; soft_overlong needs soft_punish_cache; max_completion_len null: trl.max_completion_length). Only for rewards named in rewards.")
    rm_model: ModelRef | None = Field(None, validate_default=True, description="Reward model folder (sequence classification + tokenizer, `kindling train rm` output); required iff rewards include rm.")
    rm_batch_size: int = Field(16, ge=1, description="Completions scored per reward-model forward pass.")
    judge: JudgeConfig | None = Field(None, validate_default=True, description="The principle-guided judge (principles = a version id, name or YAML path); required iff rewards include judge.")
    length_reference: Literal["dataset", "policy"] = Field("dataset", description="length_control's reference lengths: the responses of length_dataset, or completions the starting policy samples on the first length_reference_prompts prompts before training (holds the policy's own length).")
    length_dataset: str | None = Field(None, description="Imported dataset whose responses give length_control its reference lengths (length_reference: dataset; None: the task's exemplars dataset, sft for greetings-zh).")
    length_reference_prompts: int = Field(64, ge=1, description="Prompts the starting policy is sampled on for its reference lengths (length_reference: policy).")
    length_tolerance: float = Field(0.15, ge=0, lt=1, description="length_control's band half-width, relative to the median reference length.")
    max_prompt_length: int | None = Field(None, ge=1, description="Longest prompt in tokens (chat template applied); longer ones are an error before training. TRL 1.16's GRPOConfig has no such field, so it lives here. None: no check.")
    watch: WatchConfig = Field(default_factory=WatchConfig, description="Reward-hacking signals logged every step (watch/length_drift, self_bleu, ...) and rules that warn or stop the run (rl/watch_rules.py).")
    samples: SamplesConfig = Field(default_factory=SamplesConfig, description="Completions kept per logged step (prompt, completion, each reward, length, whether it hit the token cap), shown in the studio beside the step's figures: {per_step: 4, max_chars: 2000}.")

    @field_validator("rewards")
    @classmethod
    def _known_rewards(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("name at least one reward; known: " + ", ".join(REWARD_NAMES))
        unknown = [name for name in value if name not in REWARD_NAMES]
        if unknown:
            raise ValueError(f"unknown reward {unknown[0]!r}; known: " + ", ".join(REWARD_NAMES))
        return value

    @field_validator("rm_model")
    @classmethod
    def _rm_model_iff_rm(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _required_iff(value, info, "rm", "a reward model folder (`kindling train rm` output)")

    @field_validator("judge")
    @classmethod
    def _judge_iff_judge(cls, value: JudgeConfig | None, info: ValidationInfo) -> JudgeConfig | None:
        return _required_iff(value, info, "judge", "a judge config (llm, principles)")


def _required_iff(value: Any, info: ValidationInfo, reward: str, what: str) -> Any:
    rewards = info.data.get("rewards")
    if rewards is None:  # rewards itself failed; that error is reported
        return value
    if reward in rewards and value is None:
        raise ValueError(f"required when rewards include {reward!r}: set it to {what}")
    if reward not in rewards and value is not None:
        raise ValueError(f"set but rewards do not include {reward!r} (add it or remove this key)")
    return value


REWARD_SHORT_NAMES = {"length_control": "length"}
"""How a reward appears in a default run name (grpo-rm+length)."""


def run_name(kind: str, kcfg: Any) -> str:
    """The run's name: the config's `name`, else the kind (GRPO: with its rewards, grpo-rm+length)."""
    given = getattr(kcfg, "name", None)
    if given:
        return str(given)
    rewards = getattr(kcfg, "rewards", None)
    if not rewards:
        return kind
    return kind + "-" + "+".join(REWARD_SHORT_NAMES.get(r, r) for r in rewards)


KINDLING_MODELS: dict[str, type[Strict]] = {"sft": KindlingSFT, "rm": KindlingRM, "grpo": KindlingGRPO}
"""Kindling's part per run type."""

def load_train_config(
    kind: str, yaml_path: Path | None, overrides: dict[str, Any],
    overrides_base: Path | None = None,
) -> tuple[BaseModel, Any]:
    """Read a run config: YAML sections `kindling` and `trl`, then dotted CLI overrides on top.

    Args:
        kind: Run type, a key of `KINDLING_MODELS` (sft, rm, grpo).
        yaml_path: The YAML file (None: overrides only): sections `kindling`/`trl`, or one
            section per run type holding them (then the `kind` section is used).
        overrides: Dotted keys (`trl.learning_rate`, `kindling.limit`) to values; a string value
            is parsed as YAML (`1e-4` → 0.0001, `true`, `null`), others are used as they are.
        overrides_base: The folder the overrides' relative paths resolve against (default: the
            current folder); the file's resolve against its own folder (agents/paths.py).

    Returns:
        (Kindling's part as its pydantic model, TRL's config object built from the merged dict).

    Raises:
        ConfigError: unreadable YAML, an unknown section or key, a multi-run file without a
            `kind` section, or a value TRL or we reject; the message names the file and the key.
    """
    if kind not in KINDLING_MODELS:
        raise ConfigError(f"unknown run type {kind!r} (known: {', '.join(KINDLING_MODELS)})")
    data, where = read_run_yaml(kind, yaml_path)
    if yaml_path is not None:
        data = resolve_sections(KINDLING_MODELS[kind], data, config_base(yaml_path))
    for dotted, value in overrides.items():
        _apply_override(data, dotted, resolve_override(KINDLING_MODELS[kind], dotted,
                                                       _parse_value(value),
                                                       overrides_base or Path.cwd()))
    kindling_part = _validate_kindling(KINDLING_MODELS[kind], data.get("kindling") or {}, where,
                                       [k.partition(".")[2] for k in overrides
                                        if k.startswith("kindling.")])
    trl_config = build_trl_config(trl_config_class(kind), data.get("trl") or {}, where,
                                  {k.partition(".")[2] for k in overrides if k.startswith("trl.")})
    return kindling_part, absolute_output_dir(trl_config)


def read_run_yaml(kind: str, path: Path | None) -> tuple[dict[str, Any], str]:
    """The `kindling`/`trl` sections for run type `kind` from a YAML file, and where they came from.

    Returns:
        (the sections as a dict, a label for error messages: the path, plus `[kind]` when the file
        holds several run types; "command line" without a file).

    Raises:
        ConfigError: unreadable YAML, an unknown top-level key, run types mixed with sections,
            or a multi-run file without a `kind` section; naming the file.
    """
    if path is None:
        return {}, "command line"
    loaded = read_yaml_mapping(path, f"a mapping with sections {SECTIONS}")
    run_types = [key for key in loaded if key in KINDLING_MODELS]
    if not run_types:
        return _check_sections(loaded, str(path)), str(path)
    mixed = [key for key in loaded if key not in KINDLING_MODELS]
    if mixed:
        raise ConfigError(f"{path}: top-level key {mixed[0]!r} beside run types {', '.join(run_types)}: "
                          f"give either sections {' and '.join(SECTIONS)}, or one section per run type "
                          f"({', '.join(KINDLING_MODELS)}) each holding them")
    if loaded.get(kind) is None:
        raise ConfigError(f"{path}: no {kind!r} section for `kindling train {kind}` "
                          f"(this file has {', '.join(run_types)})")
    where = f"{path} [{kind}]"
    if not isinstance(loaded[kind], dict):
        raise ConfigError(f"{where}: section {kind!r} must be a mapping with sections {SECTIONS}")
    return _check_sections(loaded[kind], where), where


def _check_sections(data: dict[str, Any], where: str) -> dict[str, Any]:
    for section, body in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"{where}: unknown section {section!r} (expected {' and '.join(SECTIONS)}, "
                              f"or run types {', '.join(KINDLING_MODELS)} each holding them)")
        if body is not None and not isinstance(body, dict):
            raise ConfigError(f"{where}: section {section!r} must be a mapping")
    return data


def _parse_value(value: Any) -> Any:
    return parse_value(value) if isinstance(value, str) else value


def _apply_override(data: dict[str, Any], dotted: str, value: Any) -> None:
    section, _, rest = dotted.partition(".")
    if section not in SECTIONS or not rest:
        raise ConfigError(f"override {dotted}: expected kindling.<field> or trl.<field>")
    set_dotted(data, dotted, value)


def _validate_kindling(model: type[Strict], body: dict[str, Any], where: str,
                       overrides: list[str]) -> BaseModel:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        lines = [_kindling_error(model, e, where, overrides) for e in exc.errors()]
        raise ConfigError("\n".join(lines)) from exc


def _kindling_error(model: type[Strict], error: Any, where: str, overrides: list[str]) -> str:
    """`where: kindling.a.b: message` (where = `--set kindling.a.b` for an override)."""
    loc = tuple(map(str, error["loc"]))
    dotted = ".".join(loc)
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key" + did_you_mean(loc[-1], fields_at(model, loc[:-1]),
                                               prefix=".".join(("kindling", *loc[:-1])))
    if dotted in overrides:
        return f"--set kindling.{dotted}: {message}"
    return f"{where}: kindling.{dotted}: {message}"


def config_dicts(kindling_part: BaseModel, trl_config: Any) -> dict[str, Any]:
    """Both parts as JSON-ready dicts, for the run row (TRL masks its token fields itself)."""
    import json

    from kindling.agents.task import resolve_task

    task = getattr(kindling_part, "task", None)
    return {"kindling": kindling_part.model_dump(mode="json"),
            "trl": json.loads(trl_config.to_json_string()),
            **({TASK_KEY: task_record(resolve_task(task))} if task is not None else {})}
