"""`kindling experiment plan`: the whole study before anything starts.

Per step, in the order `experiment paper` runs them: the exact command, its processes and devices;
for a training step the GPU memory per device against the devices (and what would fit when it does
not); for an agent step the LLM calls, tokens and money per role and the wall time where an
endpoint's latency was measured; then the totals. Nothing is downloaded, created or trained.

    cfg, plan, note = load_for_plan(path, overrides)
    study = build_study(cfg, plan, config_file=path, overrides=overrides)
    study.refused        # training steps that cannot fit their devices
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kindling.services.experiment_config import ExperimentConfig
from kindling.services.experiment_plan import PLACEHOLDER_RUN, Plan, link_overrides, make_plan
from kindling.services.gpus import Devices
from kindling.services.plan_calls import RoleCalls
from kindling.services.plan_costs import RoleMoney, Totals
from kindling.services.plan_memory import StepMemory

IN_PROCESS = "runs inside `kindling experiment paper` (loads no model)"
NOT_ISOLATED = "runs inside `kindling experiment paper` (launch: isolate: false)"
TRAINING_WALL = "unmeasured: no training throughput per GPU is measured yet"


@dataclass
class StepPlan:
    name: str
    command: str
    processes: int
    devices: str
    memory: StepMemory | None = None
    memory_note: str | None = None  # the model config's source, or why there is no estimate
    suggestions: list[str] = field(default_factory=list)
    money: list[RoleMoney] = field(default_factory=list)
    wall: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.memory is not None and self.memory.fits is False


@dataclass
class StudyPlan:
    steps: list[StepPlan]
    devices: Devices | None
    token_counter: str
    totals: Totals
    validated_on_cpu: bool
    max_cost: float | None = None  # the study's budget.max_cost

    @property
    def refused(self) -> list[StepPlan]:
        return [s for s in self.steps if s.refused]

    def step(self, name: str) -> StepPlan:
        return next(s for s in self.steps if s.name == name)


def has_cuda() -> bool:
    """Whether this process may use CUDA (TRL checks bf16 against it); creates no context."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except (ImportError, RuntimeError):
        return False


def load_for_plan(path: Path, overrides: dict[str, Any] | None = None
                  ) -> tuple[ExperimentConfig, Plan, bool]:
    """The experiment and every step's config validated as `experiment paper` does; on a machine
    without a GPU the training configs are validated with trl.use_cpu (TRL refuses bf16 there),
    which changes nothing the plan shows. Returns (config, plan, validated on CPU).

    Raises:
        ConfigError: the experiment file or a step's config is invalid.
    """
    from kindling.agents.config import load_config
    from kindling.agents.paths import config_base

    cfg = load_config(ExperimentConfig, path, overrides or {})
    cpu = not has_cuda()
    check = _cpu_copy(cfg) if cpu else cfg
    make_plan(check, path.parent, config_base(path))
    return cfg, Plan(cfg, path.parent, config_base(path)), cpu


def _cpu_copy(cfg: ExperimentConfig) -> ExperimentConfig:
    def on_cpu(step: Any) -> Any:
        return step.model_copy(update={"set": {**step.set, "trl.use_cpu": True}})

    plan = Plan(cfg, Path("."))
    kinds = plan.train_kinds()
    update = {name: on_cpu(getattr(cfg, name)) for name in kinds if name not in cfg.grpo_arms}
    arms = {name: on_cpu(arm) for name, arm in cfg.grpo_arms.items()}
    return cfg.model_copy(update={**update, "grpo_arms": arms})


def train_config(plan: Plan, name: str, cpu: bool) -> tuple[Any, Any, bool]:
    """A training step's (Kindling part, TRL config, trains on the CPU) with stand-ins for
    earlier steps' outputs; on a machine without a GPU a config TRL refuses there (bf16) is read
    again with trl.use_cpu, which changes nothing the plan shows."""
    from kindling.agents.config import ConfigError
    from kindling.rl.train_config import load_train_config

    links = link_overrides(plan, Path(plan.cfg.workdir), pairs_run=PLACEHOLDER_RUN,
                           principles="detector_initial")[name]
    values = plan.train_overrides(name, links)
    path = plan.config_path(plan.step(name))
    kind = plan.train_kinds()[name]
    try:
        kcfg, trl = load_train_config(kind, path, values)
        return kcfg, trl, bool(trl.use_cpu)
    except ConfigError:
        if not cpu:
            raise
    kcfg, trl = load_train_config(kind, path, values | {"trl.use_cpu": True})
    return kcfg, trl, False


def command(plan: Plan, name: str, config_file: Path, overrides: dict[str, Any]) -> tuple[str, int]:
    """The step's command as a user would type it, and its process count."""
    from kindling.services import experiment_launch as launch

    if not launch.in_child(plan, name):
        loads = name in plan.train_kinds() or name in launch.MODEL_STEPS
        return (NOT_ISOLATED if loads else IN_PROCESS), 1
    result = Path(plan.cfg.workdir) / launch.LOG_FOLDER / f"{name}.result.json"
    process = launch.step_process(plan, name, results=None, config=config_file,
                                  sets=launch.set_args(overrides), progress=True,
                                  result_file=result)
    return process.shown(), process.processes


def dataset_rows(store: Any | None, dataset: str, task_name: str) -> tuple[int | None, str]:
    """A dataset's rows: the store's count, else the paper's for its own task."""
    from kindling.services.plan_calls import PAPER_ROWS

    if store is not None:
        from kindling.store.queries import dataset_row_count

        n = dataset_row_count(store, dataset)
        if n:
            return n, f"{n} rows of {dataset} in the store"
    if task_name == "greetings-zh" and dataset in PAPER_ROWS:
        return PAPER_ROWS[dataset], f"the paper's {PAPER_ROWS[dataset]} rows of {dataset}"
    return None, f"{dataset} is not in the store yet"


def build_study(cfg: ExperimentConfig, plan: Plan, *, config_file: Path,
                overrides: dict[str, Any] | None = None, store: Any | None = None,
                prices: Path | None = None, cpu: bool | None = None) -> StudyPlan:
    """Every step's plan (see the module's doc).

    Raises:
        ConfigError, PriceError, PromptError: a config, price file or template that cannot be read.
    """
    from kindling.services import plan_calls, plan_costs
    from kindling.services.gpus import plan_devices

    cpu = (not has_cuda()) if cpu is None else cpu
    devices = plan_devices(cfg.devices)
    steps = {name: StepPlan(name, *command(plan, name, config_file, overrides or {}),
                            devices="the study's process") for name in plan.steps()}
    kinds = plan.train_kinds()
    loaded = {name: train_config(plan, name, cpu) for name in kinds}
    for name in kinds:
        _plan_training(plan, steps[name], *loaded[name], devices)
    calls = _agent_calls(plan, steps, loaded, store)
    llms = [c.llm for roles in calls.values() for c in roles]
    if prices is None and cfg.budget.prices is not None:  # the study's own price file
        prices = Path(cfg.budget.prices)
    table = plan_costs.price_table(prices, llms)
    for name, roles in calls.items():
        step = steps[name]
        step.money = [plan_costs.role_money(c, table) for c in roles]
        llm_wall = _llm_wall(store, roles)
        step.wall = (f"training {TRAINING_WALL}; judge calls {llm_wall}" if name in kinds
                     else llm_wall)
    one = "1 GPU" if devices is not None or not cpu else "CPU"
    for name in ("path_a", "rm_eval", "compare", "agreement", "path_b"):  # a model samples or scores
        if name in steps:
            where = "own process" if steps[name].command != NOT_ISOLATED else "study's process"
            steps[name].devices = f"{where}, {one}" if name != "path_b" else where
    everything = [m for s in steps.values() for m in s.money]
    return StudyPlan(list(steps.values()), devices, plan_calls.token_counter(),
                     plan_costs.totals(everything), cpu, cfg.budget.max_cost)


def _agent_calls(plan: Plan, steps: dict[str, StepPlan], loaded: dict[str, Any],
                 store: Any | None) -> dict[str, list[RoleCalls]]:
    """The LLM calls of each agent step the plan runs, and the judge arm's calls in words."""
    from kindling.services import plan_calls

    cfg, task, names = plan.cfg, plan.task(), plan.steps()
    calls: dict[str, list[RoleCalls]] = {}
    if "path_a" in names:
        a = plan.step("path_a")
        calls["path_a"] = plan_calls.path_a_calls(
            plan.curate_config(str(plan.folder("sft", Path(cfg.workdir)))), task, a.queries,
            a.samples_per_query)
    if "path_b" in names:
        calls["path_b"] = plan_calls.path_b_calls(plan.adversarial_config(), task)
    judge = None
    if "grpo_judge" in names:
        kcfg, trl, _ = loaded["grpo_judge"]
        judge = kcfg.judge.model_copy(update={"task": kcfg.task})  # as Plan.judge_config gives it
        rows, where = dataset_rows(store, kcfg.dataset, task.name)
        launch = plan.step("grpo_judge").launch or cfg.launch
        completions = plan_calls.grpo_completions(kcfg, trl, launch.processes, rows)
        if completions is None:
            steps["grpo_judge"].notes.append(f"judge calls unknown: {where} (import it, or set "
                                             "trl.max_steps)")
        else:
            calls["grpo_judge"] = [plan_calls.judge_calls("grpo_judge", judge, task, completions)]
            steps["grpo_judge"].notes.append(f"{completions:,} completions judged: "
                                             + plan_calls.completions_words(kcfg, trl, where))
    if "agreement" in names:
        calls["agreement"] = [plan_calls.judge_calls("agreement", judge, task,
                                                     cfg.compare.labelled_items)]
    calls["compare"] = plan_calls.compare_calls(cfg.compare, judge if "agreement" in names else None,
                                                task, policies=len(plan.policies()))
    return calls


def _plan_training(plan: Plan, step: StepPlan, kcfg: Any, trl: Any, on_cpu: bool,
                   devices: Devices | None) -> None:
    from kindling.services.experiment_launch import accelerate_config_path, step_launch
    from kindling.services.plan_memory import base_config, fit_suggestions, step_memory

    launch = step_launch(plan, step.name)
    step.wall = TRAINING_WALL
    try:
        config, source = base_config(plan.cfg.base.model, plan.cfg.base.vocab_size)
        memory = None if config is None else step_memory(
            plan.train_kinds()[step.name], kcfg, trl, launch, accelerate_config_path(plan, launch),
            config, None if on_cpu else devices)
    except (AttributeError, ValueError, TypeError, KeyError, OSError) as exc:  # an unknown shape
        config, memory, source = None, None, f"{type(exc).__name__}: {exc}"
    if config is None or memory is None:
        step.memory_note = f"no memory estimate: {source}"
        step.devices = gpus(launch.processes)
        return
    step.memory, step.memory_note = memory, f"model shape: {plan.cfg.base.model} ({source})"
    where = gpus(launch.processes) if devices is not None or not on_cpu else "CPU"
    step.devices = f"{where}, {memory.sharding_words}"
    if memory.fits is False:
        step.suggestions = fit_suggestions(step.name, memory, config,
                                           step_set=dict(plan.step(step.name).set),
                                           fsdp_config=fsdp_config_arg(plan))


def gpus(n: int) -> str:
    return f"{n} GPU" + ("s" if n > 1 else "")


def fsdp_config_arg(plan: Plan) -> str:
    """An FSDP accelerate config as `--set launch.accelerate_config=` takes it (relative to the
    experiment file's folder): accelerate/fsdp.yaml beside it, else the shipped one."""
    from kindling.configs import shipped_configs

    if (plan.base_dir / "accelerate" / "fsdp.yaml").is_file():
        return "accelerate/fsdp.yaml"
    return str((shipped_configs() / "accelerate" / "fsdp.yaml").resolve())


def _llm_wall(store: Any | None, roles: list[RoleCalls]) -> str:
    """The step's wall time from measured latencies, or which endpoints are unmeasured."""
    from kindling.services.plan_costs import measured_latency, wall_seconds

    seconds, unmeasured, local = 0.0, set(), False
    for c in roles:
        if c.llm.backend == "local":
            local = True
            continue
        took = wall_seconds(c, measured_latency(store, c.llm.base_url, c.llm.model))
        if took is None:
            unmeasured.add(f"kindling endpoint check --base-url {c.llm.base_url} --model "
                           f"{c.llm.model} --api-key-env {c.llm.api_key_env}")
        else:
            seconds += took
    parts = []
    if seconds:
        parts.append(f"about {seconds / 3600:.1f} h from measured latency")
    if unmeasured:
        parts.append("unmeasured: measure with " + "; ".join(sorted(unmeasured)))
    if local:
        parts.append("local model: unmeasured")
    return "; ".join(parts)
