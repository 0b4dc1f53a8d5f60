"""A fork rebuilds its source run's config from what the run stored: the config's own fields,
without what the run recorded beside them."""

from kindling.agents.curate.config import CurateConfig

from kindling.debugger.targets import settings_of


def test_a_fork_keeps_the_settings_and_leaves_out_what_the_run_recorded() -> None:
    cfg = CurateConfig(prompt_set="kindling", limit=3)
    stored = {**cfg.model_dump(), "principles_text": "只看是否押韵", "policy_path": "/m/sft",
              "task_used": {"name": "greetings-zh"}, "stepped": True, "edits": [],
              "task_forced": [{"version": 2, "kind": "debate_judge"}],
              "forked_from": {"run_id": 1}}
    assert CurateConfig.model_validate(settings_of(stored, CurateConfig)) == cfg
