"""The quickstart as an experiment: its steps, its flags as overrides, what it refuses first, and
the optional steps of an experiment config."""

from pathlib import Path

import pytest
from kindling.agents.config import ConfigError, load_config
from kindling.store.db import Store
from kindling.store.errors import FlagError

from kindling.services.experiment_config import ExperimentConfig
from kindling.services.experiment_launch import in_child, train_links
from kindling.services.experiment_plan import PLACEHOLDER_RUN, Plan, link_overrides
from kindling.services.experiment_steps import first_samples
from kindling.services.quickstart import QuickstartSizes, load_quickstart, quickstart_overrides

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"


def test_the_quickstart_steps_in_order_with_its_folders(tmp_path: Path) -> None:
    quick = load_quickstart(CONFIGS, tmp_path / "qs", QuickstartSizes())
    cfg, plan = quick.cfg, quick.plan
    assert quick.file == CONFIGS / "quickstart.yaml"
    assert plan.steps() == ("import", "base", "sft", "rm", "rm_eval", "grpo_rm", "grpo_rm_lc",
                            "grpo_judge", "compare")
    assert [label for label, _ in plan.policies()] == ["base", "sft", "grpo-rm", "grpo-rm+length",
                                                       "grpo-judge"]
    assert {n: str(p.relative_to(tmp_path / "qs")) for n, p in plan.folders(
        Path(cfg.workdir)).items()} == {
        "base": "models/tiny", "sft": "runs/sft", "rm": "models/rm", "grpo_rm": "runs/grpo_rm",
        "grpo_rm_lc": "runs/grpo_rm_lc", "grpo_judge": "runs/grpo_judge"}
    assert not any(in_child(plan, name) for name in plan.steps())  # isolate: false


def test_the_flags_replace_only_their_own_entries_of_a_steps_set(tmp_path: Path) -> None:
    raw = {"sft": {"set": {"trl.max_steps": 300, "trl.seed": 3}}, "grpo_rm": {}, "rm_eval": {},
           "grpo_arms": {"grpo_x": {"label": "x", "set": {"kindling.rewards": {"rm": 1.0}}}},
           "grpo_judge": {"set": {"trl.save_strategy": "no"}}}
    out = quickstart_overrides(raw, tmp_path, QuickstartSizes(sft_steps=2, grpo_steps=5,
                                                              judge_batch=4, eval_limit=60))
    assert out["sft.set"] == {"trl.max_steps": 2, "trl.seed": 3}
    assert out["grpo_arms.grpo_x.set"] == {"kindling.rewards": {"rm": 1.0}, "trl.max_steps": 5}
    assert out["grpo_judge.set"] == {"trl.save_strategy": "no",
                                     "trl.per_device_train_batch_size": 4}
    assert out["rm_eval.limit"] == out["compare.labels_limit"] == 60
    assert "rm.set" not in out  # no --rm-pairs: the file's rm step as it is
    assert quickstart_overrides(raw, tmp_path, QuickstartSizes(judge_steps=0))["grpo_judge"] is False
    with pytest.raises(FlagError, match="--judge-steps/--judge-batch: the quickstart file "
                                         "leaves step grpo_judge out"):
        quickstart_overrides({**raw, "grpo_judge": None}, tmp_path, QuickstartSizes(judge_steps=3))
    no_eval = quickstart_overrides({**raw, "rm_eval": None}, tmp_path, QuickstartSizes(eval_limit=9))
    assert no_eval["rm_eval.limit"] is None and no_eval["compare.labels_limit"] == 9  # stays out


def test_judge_steps_0_leaves_the_judge_arm_out(tmp_path: Path) -> None:
    plan = load_quickstart(CONFIGS, tmp_path, QuickstartSizes(judge_steps=0)).plan
    assert "grpo_judge" not in plan.steps() and "grpo_judge" not in plan.folders(tmp_path)
    assert [label for label, _ in plan.policies()][-1] == "grpo-rm+length"


def test_a_configs_folder_without_quickstart_yaml_uses_the_shipped_one(tmp_path: Path) -> None:
    for name in ("sft_tiny.yaml", "rm_tiny.yaml", "grpo_tiny.yaml", "grpo_judge_tiny.yaml"):
        (tmp_path / name).write_bytes((CONFIGS / name).read_bytes())
    (tmp_path / "sft_tiny.yaml").write_text(
        (CONFIGS / "sft_tiny.yaml").read_text().replace("seed: 0", "seed: 7"))
    quick = load_quickstart(tmp_path, tmp_path / "qs", QuickstartSizes())
    assert quick.file == CONFIGS / "quickstart.yaml"
    assert quick.plan.config_path(quick.cfg.sft) == tmp_path / "sft_tiny.yaml"  # the folder's
    (tmp_path / "rm_tiny.yaml").unlink()
    with pytest.raises(FlagError, match="missing rm_tiny.yaml"):
        load_quickstart(tmp_path, tmp_path / "qs", QuickstartSizes())


def test_a_judge_batch_of_part_of_a_group_is_named_with_its_flag(tmp_path: Path) -> None:
    with pytest.raises(FlagError, match="--judge-batch 6: must be a multiple of 4"):
        load_quickstart(CONFIGS, tmp_path, QuickstartSizes(judge_batch=6))


def test_without_path_a_the_rm_trains_on_the_import_run_and_the_judge_keeps_its_principles(
        tmp_path: Path) -> None:
    cfg = load_config(ExperimentConfig, CONFIGS / "experiment_tiny.yaml",
                      {"path_a": False, "path_b": False})
    plan = Plan(cfg, CONFIGS)
    assert "pairs" not in plan.steps() and "agreement" not in plan.steps()
    links = link_overrides(plan, tmp_path, pairs_run=PLACEHOLDER_RUN, principles="7")
    assert links["rm"]["kindling.pairs_run"] == PLACEHOLDER_RUN
    assert "kindling.pairs_dataset" not in links["rm"]  # rm's own config: rm_train
    assert "kindling.judge.principles" not in links["grpo_judge"]
    rm = train_links(plan, "rm", {"import": {"import_run": 12}})
    assert rm["kindling.pairs_run"] == 12
    full = Plan(load_config(ExperimentConfig, CONFIGS / "experiment_tiny.yaml", {}), CONFIGS)
    assert train_links(full, "rm", {"pairs": {"run": 5}, "import": {"import_run": 12}})[
        "kindling.pairs_run"] == 5


def test_an_arm_name_and_an_isolated_launch_are_checked() -> None:
    with pytest.raises(ConfigError, match="grpo_"):
        load_config(ExperimentConfig, None, {"grpo_arms": {"other": {"label": "x"}}})
    with pytest.raises(ConfigError, match="processes must be 1"):
        load_config(ExperimentConfig, None, {"launch.isolate": False, "launch.processes": 2})


def test_first_samples_keep_each_policys_first_sample_per_prompt() -> None:
    samples = {"a": [("p1", "x"), ("p1", "y"), ("p2", "z")], "b": [("p2", "w")]}
    shown, scores = first_samples(samples, {"a": [1.0, 2.0, 3.0]}, prompts=2)
    assert shown == {"a": [["p1", "x"], ["p2", "z"]], "b": [["p2", "w"]]}
    assert scores == {"a": [1.0, 3.0]}


def test_a_step_depends_on_the_steps_it_reads_not_on_every_step_before_it(tmp_path: Path) -> None:
    plan = load_quickstart(CONFIGS, tmp_path, QuickstartSizes()).plan
    assert plan.dependencies("rm") == ("sft", "import")  # the imported pairs, no Path A
    assert plan.dependencies("rm_eval") == ("rm",)
    assert plan.dependencies("grpo_rm") == plan.dependencies("grpo_rm_lc") == ("sft", "rm")
    assert plan.dependencies("grpo_judge") == ("sft",)  # no Path B: its config's principles
    assert plan.dependencies("compare") == ("base", "sft", "grpo_rm", "grpo_rm_lc", "grpo_judge",
                                            "rm")
    full = Plan(load_config(ExperimentConfig, CONFIGS / "experiment_tiny.yaml", {}), CONFIGS)
    assert full.dependencies("rm") == ("sft", "pairs")
    assert full.dependencies("agreement") == ("path_b", "grpo_judge", "rm", "pairs")
    no_judge = Plan(load_config(ExperimentConfig, CONFIGS / "experiment_tiny.yaml",
                                {"grpo_judge": False}), CONFIGS)
    assert "path_b" not in no_judge.steps()  # its S_D would feed nothing


def test_a_recorded_step_counts_as_done_only_while_its_runs_are_in_the_store(
        tmp_path: Path, sqlite_store: Store) -> None:
    from kindling.store.work import get_or_create_run

    from kindling.services.experiment import Experiment

    quick = load_quickstart(CONFIGS, tmp_path / "qs", QuickstartSizes())
    exp = Experiment(sqlite_store, quick.cfg, quick.plan, config_file=quick.file)
    run, _ = get_or_create_run(sqlite_store, kind="sft", run_key=None, config={}, code_version="t")
    run_id = run.id
    assert exp._runs_stored({"run": run_id, "model": "m"})
    assert not exp._runs_stored({"run": run_id + 1})  # a new store, or another --db-url
    assert not exp._runs_stored({"import_run": 10**30})  # an id no run has (no overflow)
    assert exp._runs_stored({"import_run": None, "added": 0})  # no import: nothing to look for
