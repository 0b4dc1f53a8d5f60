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
"""The training steps' kinds (each GRPO arm is one more `grpo`)."""
FOLDERS = {"sft": "runs/sft", "rm": "models/rm", "grpo_rm": "runs/grpo_rm",
           "grpo_judge": "runs/grpo_judge"}
"""Their output folders in the workdir (an arm's: runs/<its step name>; base: base.folder)."""
PLACEHOLDER_RUN = 1  # stands for a run id not known before the step that makes it


@dataclass(frozen=True)
class Plan:
    cfg: ExperimentConfig
    base_dir: Path  # the experiment file's folder: step configs are relative to it
    paths_base: Path | None = None  # what paths in the file resolve against (agents/paths.py)

    def steps(self) -> tuple[str, ...]:
        """The steps, in the order they run: the ones the config leaves out are not there."""
        c = self.cfg
        judged = c.path_b is not None and c.grpo_judge is not None  # Path B feeds the judge arm
        return ("import", "base", "sft", *(("path_a", "pairs") if c.path_a is not None else ()),
                "rm", *(("rm_eval",) if c.rm_eval is not None else ()), "grpo_rm", *c.grpo_arms,
                *(("path_b",) if judged else ()),
                *(("grpo_judge",) if c.grpo_judge is not None else ()),
                *(("agreement",) if judged else ()), "compare")

    def dependencies(self, name: str) -> tuple[str, ...]:
        """The steps whose output step `name` reads: changing one redoes `name` (and what reads
        it in turn), changing another step does not."""
        steps = self.steps()
        rm_data = "pairs" if "pairs" in steps else "import"
        policies = tuple(step for _, step in self.policies())
        needs = {"base": ("import",), "sft": ("base",), "path_a": ("sft",), "pairs": ("path_a",),
                 "rm": ("sft", rm_data), "rm_eval": ("rm",), "path_b": ("import",),
                 "grpo_judge": ("sft", "path_b"), "agreement": ("path_b", "grpo_judge", "rm", rm_data),
                 "compare": (*policies, "rm", "agreement")}
        default = ("sft", "rm")  # GRPO with the RM, and each arm
        return tuple(d for d in needs.get(name, () if name == "import" else default) if d in steps)

    def train_kinds(self) -> dict[str, str]:
        """Each training step this plan runs → its kind (sft, rm, grpo)."""
        return {name: TRAIN_KINDS.get(name, "grpo") for name in self.steps()
                if name in TRAIN_KINDS or name in self.cfg.grpo_arms}

    def step(self, name: str) -> Any:
        """A step's settings (a GRPO arm's too)."""
        return self.cfg.grpo_arms[name] if name in self.cfg.grpo_arms else getattr(self.cfg, name)

    def policies(self) -> list[tuple[str, str]]:
        """(label, step) of every policy the comparison samples, in the table's order."""
        arms = [(arm.label, name) for name, arm in self.cfg.grpo_arms.items()]
        judge = [("grpo-judge", "grpo_judge")] if self.cfg.grpo_judge is not None else []
        return [("base", "base"), ("sft", "sft"), ("grpo-rm", "grpo_rm"), *arms, *judge]

    def config_path(self, step: Step) -> Path | None:
        return None if step.config is None else self.base_dir / step.config

    def folder(self, name: str, workdir: Path) -> Path:
        """Where step `name` writes its model (base: base.folder; an arm: runs/<name>)."""
        if name == "base":
            return workdir / self.cfg.base.folder
        return workdir / FOLDERS.get(name, f"runs/{name}")

    def folders(self, workdir: Path) -> dict[str, Path]:
        """Each model-making step's output folder (base only when it is built here)."""
        names = [n for n in ("base", *self.train_kinds()) if n != "base" or self.cfg.base.model == "tiny"]
        return {name: self.folder(name, workdir) for name in names}

    def section(self, name: str) -> Any:
        """What a step's result depends on besides earlier steps: its settings and the text of
        its config file (so editing either redoes it)."""
        if name == "import":
            return self.cfg.data
        if name == "agreement":
            return [self.cfg.compare.labelled_items, self.step("path_b").model_dump()]
        step = self.step({"pairs": "path_a"}.get(name, name))
        dump = (step.model_dump(exclude={"launch", "label"}) if step is not None else None)
        # how a step is launched, and an arm's label, do not change what it makes
        path = self.config_path(step) if isinstance(step, Step) else None
        text = (read_yaml_text(path, "config", ConfigError)
                if path is not None and path.exists() else None)
        return [dump, text]

    def train_overrides(self, name: str, links: dict[str, Any]) -> dict[str, Any]:
        """A training step's overrides: the links, then the experiment's `set` on top."""
        from kindling.rl.run_paths import resolve_override
        from kindling.rl.train_config import KINDLING_MODELS

        step: Step = self.step(name)
        model = KINDLING_MODELS[self.train_kinds()[name]]
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
        Path B's (whose principles become the judge), else the default task."""
        if self.cfg.task is None and self.cfg.path_b is not None:
            return resolve_task(self.adversarial_config().task)
        return resolve_task(self.cfg.task)

    def curate_config(self, policy: str) -> CurateConfig:
        """Path A: the SFT policy writes `samples_per_query` candidates for `queries` queries."""
        a = self.step("path_a")
        links = {"source": "generate", "dataset": a.dataset, "limit": a.queries,
                 "samples_per_query": a.samples_per_query, "policy.model": policy, **self._task()}
        return load_config(CurateConfig, self.config_path(a), {**links, **self._sets(CurateConfig, a)})

    def adversarial_config(self) -> AdversarialConfig:
        b = self.step("path_b")
        return load_config(AdversarialConfig, self.config_path(b),
                           {**self._task(), **self._sets(AdversarialConfig, b)})

    def judge_config(self, principles: str | None) -> JudgeConfig:
        """The judge GRPO trains with (grpo_judge's kindling.judge) under `principles` (None:
        its config's own): the same judge scores the comparison and is measured against labels."""
        from kindling.rl.train_config import load_train_config

        links = link_overrides(self, Path(self.cfg.workdir), pairs_run=PLACEHOLDER_RUN,
                               principles=principles)["grpo_judge"]
        kcfg, _ = load_train_config("grpo", self.config_path(self.step("grpo_judge")),
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
    kinds = plan.train_kinds()
    for name in (n for n in plan.steps() if n in kinds or n in ("path_a", "path_b")):
        path = plan.config_path(plan.step(name))
        if path is None and name in kinds:
            raise ConfigError(f"{name}.config: a training step needs its config file (the "
                              "kindling train command it runs reads it)")
        if path is not None and not path.is_file():
            raise ConfigError(f"{name}.config: {path} does not exist")
    workdir = Path(cfg.workdir)
    stand_ins = link_overrides(plan, workdir, pairs_run=PLACEHOLDER_RUN, principles="detector_initial")
    for name, kind in kinds.items():
        try:
            kcfg, _ = load_train_config(kind, plan.config_path(plan.step(name)),
                                        plan.train_overrides(name, stand_ins[name]))
        except ConfigError as exc:
            raise ConfigError(f"step {name}: {exc}") from exc
        if name == "grpo_judge" and getattr(kcfg, "judge", None) is None:
            raise ConfigError("step grpo_judge: its config has no kindling.judge (the judge "
                              "GRPO trains with)")
    checks = {"path_a": lambda: plan.curate_config(str(plan.folder("sft", workdir))),
              "path_b": plan.adversarial_config}
    for name in (n for n in plan.steps() if n in checks):
        try:
            checks[name]()
        except ConfigError as exc:
            raise ConfigError(f"step {name}: {exc}") from exc
    return plan


def link_overrides(plan: Plan, workdir: Path, *, pairs_run: int | str,
                   principles: str | None) -> dict[str, dict[str, Any]]:
    """What each training step takes from the steps before it: the RM trains on Path A's pairs
    run (else on `pairs_run`, the import run, with its config's pairs_dataset); GRPO's judge
    takes Path B's S_D (`principles`; without Path B, its config's own)."""
    folders = {name: plan.folder(name, workdir) for name in ("base", *plan.train_kinds())}
    base = folders["base"] if plan.cfg.base.model == "tiny" else plan.cfg.base.model
    task = {} if plan.cfg.task is None else {"kindling.task": plan.cfg.task}
    pairs = ({"kindling.pairs_dataset": "null"}  # a pairs run: every pair (YAML null unsets)
             if plan.cfg.path_a is not None else {})
    judge = ({"kindling.judge.principles": principles}
             if plan.cfg.path_b is not None and principles is not None else {})
    links = {
        "sft": {"kindling.model": base, "trl.output_dir": folders["sft"]},
        "rm": {"kindling.model": folders["sft"], "kindling.pairs_run": pairs_run, **pairs,
               "trl.output_dir": folders["rm"]},
        "grpo_judge": {"kindling.model": folders["sft"], **judge,
                       "trl.output_dir": folders.get("grpo_judge"), **task},
    }
    for name in ("grpo_rm", *plan.cfg.grpo_arms):
        links[name] = {"kindling.model": folders["sft"], "kindling.rm_model": folders["rm"],
                       "trl.output_dir": folders[name], **task}
    return {name: links[name] for name in plan.train_kinds()}
