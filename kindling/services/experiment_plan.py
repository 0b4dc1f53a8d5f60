"""The experiment's plan: each step's config file and overrides, with the links between steps
(models, runs, output folders) filled in, every config validated before the first step runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kindling.agents.adversarial.config import AdversarialConfig
from kindling.agents.config import ConfigError, load_config
from kindling.agents.curate.config import CurateConfig
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.task import Task, resolve_task
from kindling.services.experiment_config import ExperimentConfig, Step
from kindling.store.yaml_io import read_yaml_text

TRAIN_KINDS = {"sft": "sft", "rm": "rm", "grpo_rm": "grpo", "grpo_judge": "grpo"}
FOLDERS = {"base": "models/base", "sft": "runs/sft", "rm": "models/rm", "grpo_rm": "runs/grpo_rm",
           "grpo_judge": "runs/grpo_judge"}
PLACEHOLDER_RUN = 1  # stands for a run id not known before the step that makes it


@dataclass(frozen=True)
class Plan:
    cfg: ExperimentConfig
    base_dir: Path  # the experiment file's folder: step configs are relative to it
    paths_base: Path | None = None  # what paths in the file resolve against (agents/paths.py)

    def config_path(self, step: Step) -> Path | None:
        return None if step.config is None else self.base_dir / step.config

    def folders(self, workdir: Path) -> dict[str, Path]:
        """Each model-making step's output folder (base only when it is built here)."""
        out = {name: workdir / rel for name, rel in FOLDERS.items()}
        if self.cfg.base.model != "tiny":
            out.pop("base")
        return out

    def section(self, name: str) -> Any:
        """What a step's result depends on besides earlier steps: its settings and the text of
        its config file (so editing either redoes it)."""
        step = getattr(self.cfg, "path_b" if name == "agreement" else name, None)
        if name == "pairs":
            step = self.cfg.path_a
        if name == "import":
            return self.cfg.data
        if name == "agreement":
            return [self.cfg.compare.labelled_items, self.cfg.path_b.model_dump()]
        dump = step.model_dump(exclude={"launch"}) if step is not None else None  # how a step
        # is launched does not change what it makes
        path = self.config_path(step) if isinstance(step, Step) else None
        text = (read_yaml_text(path, "config", ConfigError)
                if path is not None and path.exists() else None)
        return [dump, text]

    def train_overrides(self, name: str, links: dict[str, Any]) -> dict[str, Any]:
        """A training step's overrides: the links, then the experiment's `set` on top."""
        from kindling.rl.run_paths import resolve_override
        from kindling.rl.train_config import KINDLING_MODELS

        step: Step = getattr(self.cfg, name)
        model = KINDLING_MODELS[TRAIN_KINDS[name]]
        values = {**links, **{k: resolve_override(model, k, v, self._paths_base())
                              for k, v in step.set.items()}}
        return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}

    def _paths_base(self) -> Path:
        return self.paths_base or self.base_dir

    def _sets(self, model: type[Any], step: Step) -> dict[str, Any]:
        """A step's `set`, its paths resolved as the experiment file's own."""
        from kindling.agents.paths import resolve_dotted

        return {k: resolve_dotted(model, k, v, self._paths_base()) for k, v in step.set.items()}

    def _task(self) -> dict[str, Any]:
        """The experiment's `task:` as a step's override (none when unset)."""
        return {} if self.cfg.task is None else {"task": self.cfg.task}

    def task(self) -> Task:
        """The task the agreement and comparison measure in: the experiment's `task:`, else
        Path B's (whose principles become the judge)."""
        return resolve_task(self.cfg.task if self.cfg.task is not None
                            else self.adversarial_config().task)

    def curate_config(self, policy: str) -> CurateConfig:
        """Path A: the SFT policy writes `samples_per_query` candidates for `queries` queries."""
        a = self.cfg.path_a
        links = {"source": "generate", "dataset": a.dataset, "limit": a.queries,
                 "samples_per_query": a.samples_per_query, "policy.model": policy, **self._task()}
        return load_config(CurateConfig, self.config_path(a), {**links, **self._sets(CurateConfig, a)})

    def adversarial_config(self) -> AdversarialConfig:
        b = self.cfg.path_b
        return load_config(AdversarialConfig, self.config_path(b),
                           {**self._task(), **self._sets(AdversarialConfig, b)})

    def judge_config(self, principles: str) -> JudgeConfig:
        """The judge GRPO trains with (grpo_judge's kindling.judge) under `principles`: the same
        judge scores the comparison and is measured against labels."""
        from kindling.rl.train_config import load_train_config

        links = link_overrides(self, Path(self.cfg.workdir), pairs_run=PLACEHOLDER_RUN,
                               principles=principles)["grpo_judge"]
        kcfg, _ = load_train_config("grpo", self.config_path(self.cfg.grpo_judge),
                                    self.train_overrides("grpo_judge", links))
        if kcfg.judge is None:
            raise ConfigError("grpo_judge: its config has no kindling.judge")
        return kcfg.judge.model_copy(update={"task": kcfg.task})  # GRPO judges in its task


def make_plan(cfg: ExperimentConfig, base_dir: Path, paths_base: Path | None = None) -> Plan:
    """Check every step's config with its links filled by stand-ins (the real ones are made by
    earlier steps), so a typo in the last step stops the experiment before the first.

    Raises:
        ConfigError: a missing config file or an invalid field, naming the step.
    """
    from kindling.rl.train_config import load_train_config

    plan = Plan(cfg, base_dir, paths_base)
    for name in ("sft", "path_a", "rm", "grpo_rm", "path_b", "grpo_judge"):
        path = plan.config_path(getattr(cfg, name))
        if path is None and name in TRAIN_KINDS:
            raise ConfigError(f"{name}.config: a training step needs its config file (the "
                              "kindling train command it runs reads it)")
        if path is not None and not path.is_file():
            raise ConfigError(f"{name}.config: {path} does not exist")
    workdir = Path(cfg.workdir)
    stand_ins = link_overrides(plan, workdir, pairs_run=PLACEHOLDER_RUN, principles="detector_initial")
    for name, kind in TRAIN_KINDS.items():
        try:
            kcfg, _ = load_train_config(kind, plan.config_path(getattr(cfg, name)),
                                        plan.train_overrides(name, stand_ins[name]))
        except ConfigError as exc:
            raise ConfigError(f"step {name}: {exc}") from exc
        if name == "grpo_judge" and getattr(kcfg, "judge", None) is None:
            raise ConfigError("step grpo_judge: its config has no kindling.judge (the judge "
                              "GRPO trains with)")
    for name, check in (("path_a", lambda: plan.curate_config(str(workdir / FOLDERS["sft"]))),
                        ("path_b", plan.adversarial_config)):
        try:
            check()
        except ConfigError as exc:
            raise ConfigError(f"step {name}: {exc}") from exc
    return plan


def link_overrides(plan: Plan, workdir: Path, *, pairs_run: int,
                   principles: str) -> dict[str, dict[str, Any]]:
    """What each training step takes from the steps before it."""
    folders = {**{n: workdir / rel for n, rel in FOLDERS.items()}, **plan.folders(workdir)}
    base = folders["base"] if plan.cfg.base.model == "tiny" else plan.cfg.base.model
    task = {} if plan.cfg.task is None else {"kindling.task": plan.cfg.task}
    return {
        "sft": {"kindling.model": base, "trl.output_dir": folders["sft"]},
        "rm": {"kindling.model": folders["sft"], "kindling.pairs_run": pairs_run,
               "kindling.pairs_dataset": "null",  # a pairs run: every pair (YAML null unsets)
               "trl.output_dir": folders["rm"]},
        "grpo_rm": {"kindling.model": folders["sft"], "kindling.rm_model": folders["rm"],
                    "trl.output_dir": folders["grpo_rm"], **task},
        "grpo_judge": {"kindling.model": folders["sft"], "kindling.judge.principles": principles,
                       "trl.output_dir": folders["grpo_judge"], **task},
    }
