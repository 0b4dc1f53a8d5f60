"""`kindling experiment paper`: the paper's comparison as one resumable sequence of steps.

SFT → Path A (the SFT policy's samples judged by the agents) → pairs → RM → GRPO with the RM;
Path B → its best validated S_D → GRPO with that judge; then every policy (and any endpoint
model) sampled on held-out prompts and scored by both evaluators, each evaluator's agreement with
labels it never saw beside the length rule. Each step is the code path of its own command and
lands in the store; every step that loads a model runs in a process of its own (training ones as
`kindling train`, under `accelerate launch` when `launch:` asks: experiment_launch.py), so each
starts with all GPU memory free, its output kept in `<workdir>/logs/` (`launch: {isolate:
false}`: in this process instead). `experiment.json` in the workdir records what each finished
step produced, under a fingerprint of its settings and of the steps whose output it reads (`Plan.dependencies`),
so a rerun skips finished steps and redoes a step whose settings changed, with every step that
reads what it makes; a step whose recorded runs are not in the store is done again.

    from kindling.services.experiment import Experiment, load_experiment
    path = Path("configs/experiment_tiny.yaml")
    experiment = Experiment(store, *load_experiment(path), config_file=path)
    report = experiment.run()
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kindling.agents.config import ConfigError, load_config
from kindling.outputs import check_claimable, write_text
from kindling.services.experiment_config import ExperimentConfig
from kindling.services.experiment_launch import (
    LOG_FOLDER,
    StepFailed,
    StepProcess,
    in_child,
    read_result,
    run_process,
    set_args,
    step_process,
)
from kindling.services.experiment_plan import Plan, make_plan
from kindling.store.bounded import MAX_STATE_BYTES, read_bounded
from kindling.store.db import Store
from kindling.store.errors import UserError

if TYPE_CHECKING:
    from kindling.services.paper_data import PaperData

STATE_FILE = "experiment.json"
STATE_MARK = "kindling experiment"


def load_experiment(path: Path, overrides: dict[str, Any] | None = None
                    ) -> tuple[ExperimentConfig, Plan]:
    """The experiment file and every step's own config, all validated before any work.

    Raises:
        ConfigError: the experiment file or a step's config is invalid (file and field named).
    """
    from kindling.agents.paths import config_base

    cfg = load_config(ExperimentConfig, path, overrides or {})
    return cfg, make_plan(cfg, path.parent, config_base(path))


class Experiment:
    """Runs the steps in order, skipping those `experiment.json` records as done."""

    def __init__(self, store: Store, cfg: ExperimentConfig, plan: Plan, *, config_file: Path,
                 overrides: dict[str, Any] | None = None, live: bool = False,
                 progress: bool = False, on_step: Callable[[str, str], None] | None = None,
                 echo: Callable[[str], None] | None = None, paper: PaperData | None = None
                 ) -> None:
        self.store, self.cfg, self.plan = store, cfg, plan
        self.paper = paper  # the paper data found before (else the import step looks itself)
        self.config_file, self.overrides = config_file, overrides or {}
        self.live, self.progress = live, progress
        self.on_step = on_step or (lambda step, status: None)
        self.echo = echo  # where a step process's output lines go besides its log
        self.workdir = Path(cfg.workdir)
        self.state_path = self.workdir / STATE_FILE
        self.results: dict[str, Any] = {}
        self.attempt_runs: list[int] = []  # runs of training attempts that stopped (billed)

    def check_workdir(self) -> None:
        """Refuse a workdir whose step folders or state file Kindling did not make.

        Raises:
            UserError: a foreign folder or state file.
        """
        self.check_folders(self.plan, self.workdir)
        if self.state_path.exists():
            try:
                mark = self._state_file().get("made_by")
            except (OSError, ValueError, AttributeError):
                mark = None
            if mark != STATE_MARK:
                raise UserError(f"{self.state_path}: not written by kindling experiment; "
                                "pick another workdir (nothing was changed)")

    @staticmethod
    def check_folders(plan: Plan, workdir: Path) -> None:
        """Refuse step folders Kindling did not make (before anything is made).

        Raises:
            UserError: a foreign folder.
        """
        for folder in plan.folders(workdir).values():
            check_claimable(folder, overwrite=True, flag="workdir")

    def forget_steps(self, *, remove_folders: bool = False) -> list[Path]:
        """Drop the record of finished steps (only a state file this command wrote) and, with
        `remove_folders`, the step folders Kindling made; returns the folders removed."""
        from kindling.outputs import remove_owned_dir

        self.check_workdir()
        self.state_path.unlink(missing_ok=True)
        if not remove_folders:
            return []
        return [p for p in self.plan.folders(self.workdir).values() if remove_owned_dir(p)]

    def run(self) -> dict[str, Any]:
        """Every step, in order; returns the results by step (the comparison under 'compare')."""
        self.check_workdir()
        done = self._read_state()
        self.attempt_runs = self.recorded_attempts()
        task = self._task_fingerprint()
        prints: dict[str, str] = {}
        for name in self.plan.steps():
            fingerprint = prints[name] = _fingerprint(
                task, name, [self.plan.section(name),
                             [prints[d] for d in self.plan.dependencies(name)]])
            record = done.get(name)
            if (record is not None and record.get("fingerprint") == fingerprint
                    and self._runs_stored(record.get("result"))):
                self.results[name] = record["result"]
                self.on_step(name, "done before")
                continue
            self.on_step(name, "running")
            self.results[name] = (self._run_in_child(name) if in_child(self.plan, name)
                                  else self._run_here(name))
            done[name] = {"fingerprint": fingerprint, "result": self.results[name]}
            self._write_state(done)  # other steps' records stay: their fingerprints decide
            self.on_step(name, "finished")
        return self.results

    def _runs_stored(self, result: Any) -> bool:
        """Whether the runs a recorded result names are in this store (another or a new store:
        the step is done again)."""
        from kindling.store.reports import get_run

        ids = [result.get(k) for k in ("run", "import_run", "eval_run")] \
            if isinstance(result, dict) else []
        if any(isinstance(i, int) and not 0 < i < 2**63 for i in ids):  # no run has such an id
            return False
        return all(get_run(self.store, i) is not None for i in ids if isinstance(i, int))

    def step_process(self, name: str) -> StepProcess:
        """The process that runs step `name`, with the results so far (and for GRPO with the
        judge, its share of the study's budget)."""
        from kindling.services.experiment_budget import budget_sets, step_budget

        sets = set_args(self.overrides)
        train_sets = (budget_sets(step_budget(self, name), "kindling.judge.budget")
                      if name == "grpo_judge" else None)
        return step_process(self.plan, name, results=self.results, config=self.config_file,
                            sets=sets, progress=self.progress, result_file=self._result_file(name),
                            train_sets=train_sets)

    def _run_here(self, name: str) -> dict[str, Any]:
        """Step `name` in this process (a training step as `kindling train` runs it)."""
        from kindling.services.experiment_steps import STEP_FUNCTIONS, train_here

        if name not in self.plan.train_kinds():
            return STEP_FUNCTIONS[name](self)
        before = self._newest_training_run(name)
        try:
            result = train_here(self, name)
        except BaseException:  # failed or interrupted: what a stopped attempt spent still counts
            self._keep_attempt(name, before)
            raise
        if result["run"] == before:
            raise StepFailed(f"step {name}: training ended without storing a new run")
        return result

    def _run_in_child(self, name: str) -> dict[str, Any]:
        """Step `name` in a process of its own; what it made, read back."""
        from kindling.services.experiment_steps import train_result

        result_file = self._result_file(name)
        result_file.unlink(missing_ok=True)
        process = self.step_process(name)
        self.on_step(name, f"process: {process.shown()}")
        self.on_step(name, f"log: {process.log}")
        before = self._newest_training_run(name)
        # no SQLite connection stays open here while the step's process writes (a process that
        # holds one while another ends the WAL reads a stale file: "disk I/O error")
        self.store.close()
        try:
            run_process(process, db_url=self.store.url, echo=self.echo)
        except StepFailed as exc:
            self._keep_attempt(name, before)
            raise StepFailed(f"step {name}: {exc}") from exc
        except BaseException:  # interrupted: what a stopped attempt spent still counts
            self._keep_attempt(name, before)
            raise
        if name in self.plan.train_kinds():
            result = train_result(self, name)
            if result["run"] == before:
                raise StepFailed(f"step {name}: its process ended without storing a new run")
            return result
        return read_result(result_file)

    def _newest_training_run(self, name: str) -> int | None:
        from kindling.store.queries import newest_run_into

        kinds = self.plan.train_kinds()
        if name not in kinds:
            return None
        return newest_run_into(self.store, kinds[name], str(self.plan.folder(name, self.workdir)))

    def _keep_attempt(self, name: str, before: int | None) -> None:
        """A training step's run that stopped (its judge calls were paid for) counts against
        the study's budget when the step is trained again."""
        run = self._newest_training_run(name)
        if run is not None and run != before and run not in self.attempt_runs:
            self.attempt_runs.append(run)
            self._write_state(self._read_state())

    def _result_file(self, name: str) -> Path:
        return self.workdir / LOG_FOLDER / f"{name}.result.json"

    def recorded_results(self) -> dict[str, Any]:
        """The results experiment.json holds (what a step's own process starts from)."""
        return {name: record.get("result") for name, record in self._read_state().items()}

    def recorded_attempts(self) -> list[int]:
        """Runs of stopped training attempts experiment.json holds (billed to the budget)."""
        if not self.state_path.exists():
            return []
        runs = self._state_file().get("attempt_runs") or []
        return [r for r in runs if isinstance(r, int)]

    def _task_fingerprint(self) -> str:
        """"" without `task:` (each step's config says, and is fingerprinted); else the task's
        name and content hash, so another task, or an edited one, redoes every step."""
        if self.cfg.task is None:
            return ""
        from kindling.agents.task import resolve_task

        task = resolve_task(self.cfg.task)
        return f"{task.name}:{task.content_hash}"

    def _read_state(self) -> dict[str, Any]:
        if not self.state_path.exists():
            return {}
        steps = self._state_file().get("steps") or {}
        return {k: v for k, v in steps.items() if isinstance(v, dict)}

    def _state_file(self) -> dict[str, Any]:
        """experiment.json, read within `MAX_STATE_BYTES` (a regular file only).

        Raises:
            OSError, ValueError: unreadable, too large, not JSON; AttributeError: not an object.
        """
        data = json.loads(read_bounded(self.state_path, MAX_STATE_BYTES, "experiment state"))
        if not isinstance(data, dict):
            raise AttributeError("not a JSON object")
        return data

    def _write_state(self, steps: dict[str, Any]) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        write_text(self.state_path, json.dumps({"made_by": STATE_MARK, "steps": steps,
                                                "attempt_runs": self.attempt_runs},
                                               ensure_ascii=False, indent=1))


def _fingerprint(previous: str, name: str, section: Any) -> str:
    blob = json.dumps([previous, name, section], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


__all__ = ["ConfigError", "Experiment", "load_experiment"]
