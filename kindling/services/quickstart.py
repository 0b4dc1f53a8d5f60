"""`kindling quickstart`: configs/quickstart.yaml run by the experiment service, its sizes from
the command's flags.

The file is the configs folder's own `quickstart.yaml` when it holds one (a `kindling init`
project), else the shipped one; the step configs it names (sft_tiny.yaml, ...) are read from the
configs folder either way. Everything is checked before the store or the workdir is made.

    sizes = QuickstartSizes(sft_steps=20)
    quick = load_quickstart(Path("configs"), Path("quickstart"), sizes)
    Experiment(store, quick.cfg, quick.plan, config_file=quick.file,
               overrides=quick.overrides).run()
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kindling.agents.config import ConfigError, load_config, read_yaml_mapping
from kindling.services.experiment_config import ExperimentConfig
from kindling.services.experiment_plan import Plan, make_plan
from kindling.store.errors import FlagError

QUICKSTART_FILE = "quickstart.yaml"
FLAGS = {"sft": "sft-steps", "rm": "rm-pairs", "grpo_rm": "grpo-steps", "grpo_arms": "grpo-steps",
         "grpo_judge": "judge-steps/--judge-batch"}
"""The flag that sets each step's `set` (named when the file leaves the step out)."""


@dataclass(frozen=True)
class QuickstartSizes:
    """The command's flags; None keeps quickstart.yaml's value."""

    sft_steps: int | None = None
    rm_pairs: int | None = None
    grpo_steps: int | None = None
    judge_steps: int | None = None  # 0: no judge arm
    judge_batch: int | None = None
    eval_prompts: int | None = None
    eval_limit: int | None = None
    vocab_size: int | None = None


def quickstart_file(configs: Path) -> Path:
    """The configs folder's quickstart.yaml, else the shipped one."""
    from kindling.configs import shipped_configs

    own = configs / QUICKSTART_FILE
    return own if own.is_file() else shipped_configs() / QUICKSTART_FILE


@dataclass(frozen=True)
class Quickstart:
    """The quickstart's experiment: its config and plan, the file and the overrides they came
    from (what a step in a process of its own reads again)."""

    cfg: ExperimentConfig
    plan: Plan
    file: Path
    overrides: dict[str, Any]


def load_quickstart(configs: Path, workdir: Path, sizes: QuickstartSizes) -> Quickstart:
    """The quickstart's experiment with `sizes` on top, every step config checked.

    Raises:
        UserError: a step config missing from `configs` (all named), a flag for a step the file
            leaves out, a judge batch that is not a whole number of groups, or an invalid config
            (file and field named).
    """
    from kindling.agents.paths import config_base

    file = quickstart_file(configs)
    overrides = quickstart_overrides(read_yaml_mapping(file), workdir, sizes)
    cfg = load_config(ExperimentConfig, file, overrides)
    plan = Plan(cfg, configs)
    names = [plan.step(n).config for n in plan.train_kinds()]
    missing = [n for n in dict.fromkeys(names) if n and not (configs / n).is_file()]
    if missing:
        raise FlagError(f"--configs {configs}: missing {', '.join(missing)} (run from the "
                        "repository root or pass --configs)")
    if cfg.grpo_judge is not None:  # GRPO's batch holds whole groups: said before anything runs
        _check_judge_batch(configs / str(cfg.grpo_judge.config), cfg.grpo_judge.set,
                           flag=sizes.judge_batch is not None)
    return Quickstart(cfg, make_plan(cfg, configs, config_base(file)), file, overrides)


def quickstart_overrides(raw: dict[str, Any], workdir: Path, sizes: QuickstartSizes
                         ) -> dict[str, Any]:
    """The flags as dotted overrides of the quickstart file (`raw`: its mapping). A step's
    `set` is replaced whole, so the file's other entries are carried over."""
    def step_set(path: list[str], extra: dict[str, Any]) -> dict[str, Any]:
        node: Any = raw
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        given = {k: v for k, v in extra.items() if v is not None}
        if given and not isinstance(node, dict):
            raise FlagError(f"--{FLAGS[path[0]]}: the quickstart file leaves step "
                            f"{'.'.join(path)} out")
        return {".".join([*path, "set"]): {**(node.get("set") or {}), **given}} if given else {}

    steps = sizes.grpo_steps
    out: dict[str, Any] = {
        "workdir": str(workdir), "base.vocab_size": sizes.vocab_size,
        "rm_eval.limit": sizes.eval_limit if isinstance(raw.get("rm_eval"), dict) else None,
        "compare.prompts": sizes.eval_prompts,
        "compare.labels_limit": sizes.eval_limit,
        **step_set(["sft"], {"trl.max_steps": sizes.sft_steps}),
        **step_set(["rm"], {"kindling.limit": sizes.rm_pairs}),
        **step_set(["grpo_rm"], {"trl.max_steps": steps}),
    }
    for arm in (raw.get("grpo_arms") or {}):
        out |= step_set(["grpo_arms", arm], {"trl.max_steps": steps})
    if sizes.judge_steps == 0:
        out["grpo_judge"] = False
    else:
        out |= step_set(["grpo_judge"], {"trl.max_steps": sizes.judge_steps,
                                         "trl.per_device_train_batch_size": sizes.judge_batch})
    return out


def _check_judge_batch(config: Path, sets: dict[str, Any], *, flag: bool) -> None:
    """The judge arm's completions a step must be whole groups of trl.num_generations (`flag`:
    the batch came from --judge-batch, else from the quickstart file).

    Raises:
        FlagError: they are not; ConfigError: the group size is not a whole number.
    """
    trl = read_yaml_mapping(config).get("trl") or {}
    value = sets.get("trl.num_generations", trl.get("num_generations")) or 8  # TRL's default
    try:
        group = int(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{config}: field trl.num_generations: {value!r} is not a whole "
                          "number") from exc
    batch = sets.get("trl.per_device_train_batch_size", trl.get("per_device_train_batch_size"))
    if isinstance(batch, int) and batch % group:
        where = (f"--judge-batch {batch}" if flag else
                 f"grpo_judge's trl.per_device_train_batch_size {batch} (quickstart file)")
        raise FlagError(f"{where}: must be a multiple of {group} "
                        f"(trl.num_generations in {config}: completions per prompt)")
