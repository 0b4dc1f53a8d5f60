"""The CLI's grammar, read from the command tree: the same options mean the same on every command."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.main import get_command
from typer.testing import CliRunner

from kindling.cli import app


def leaf_commands() -> dict[str, object]:
    """Every command, with all its parameters (a command's config flags join them when it first
    parses or shows its help: here)."""
    def walk(group: object, prefix: str) -> dict[str, object]:
        found: dict[str, object] = {}
        for name, command in group.commands.items():  # type: ignore[attr-defined]
            path = f"{prefix} {name}".strip()
            found |= walk(command, path) if hasattr(command, "commands") else {path: command}
        return found

    commands = walk(get_command(app), "")
    for command in commands.values():
        command.get_params(typer.Context(command))  # type: ignore[attr-defined]
    return commands


def test_every_command_takes_db_url_and_every_config_flag_has_c() -> None:
    commands = leaf_commands()
    assert len(commands) > 20
    no_db_url = [n for n, c in commands.items()
                 if not any("--db-url" in p.opts for p in c.params)]  # type: ignore[attr-defined]
    config_without_c = [n for n, c in commands.items() for p in c.params  # type: ignore[attr-defined]
                        if ("--config" in p.opts or "--judge-config" in p.opts)
                        and not {"-c", "--config"} <= set(p.opts)]
    assert (no_db_url, config_without_c) == ([], [])


def test_every_option_and_argument_has_help() -> None:
    missing = [f"{n} {p.name}" for n, c in leaf_commands().items()
               for p in c.params if not getattr(p, "help", None)]  # type: ignore[attr-defined]
    assert missing == []


def test_a_commands_db_url_wins_over_the_root_one(tmp_path: Path) -> None:
    from kindling.store.db import Store

    root, own = tmp_path / "root.db", tmp_path / "own.db"
    Store(f"sqlite:///{own}").close()
    result = CliRunner().invoke(app, ["--db-url", f"sqlite:///{root}", "data", "stats",
                                      "--db-url", f"sqlite:///{own}"])
    assert result.exit_code == 0, result.output
    assert not root.exists()  # the root's --db-url was never opened (a reader creates no store)
    group = CliRunner().invoke(app, ["--db-url", f"sqlite:///{root}", "data", "--db-url",
                                     f"sqlite:///{own}", "stats"])
    assert group.exit_code == 0, group.output  # a group takes --db-url too
    listed = CliRunner().invoke(app, ["runs", "--db-url", f"sqlite:///{own}"])
    assert listed.exit_code == 0 and "runs" in listed.output, listed.output


def test_the_clis_choices_are_the_owners_choices() -> None:
    """Each choice list shown by the CLI is the one its config, registry or table accepts."""
    from typing import get_args

    from kindling.agents.adversarial.config import AdversarialConfig
    from kindling.agents.curate.config import CurateConfig
    from kindling.agents.judge.config import JudgeConfig
    from kindling.graphs.registry import GRAPHS
    from kindling.ingest.user_files import SHAPES
    from kindling.store.models import RUN_KINDS
    from kindling.store.principle_io import KINDS

    from kindling import options

    def choices(annotation: object) -> set[str]:
        return set(get_args(annotation))

    def field_choices(model: type, path: str) -> tuple[str, ...]:
        head, _, rest = path.partition(".")
        annotation = model.model_fields[head].annotation  # type: ignore[attr-defined]
        return field_choices(annotation, rest) if rest else get_args(annotation)

    def shows(command: str, flag: str, shown: tuple[str, ...]) -> bool:
        output = CliRunner().invoke(app, [command, "--help"], terminal_width=250).output
        return any(flag in line and f"<{'|'.join(shown)}>" in line for line in output.splitlines())

    for command, model in (("curate", CurateConfig), ("judge", JudgeConfig),
                           ("adversarial", AdversarialConfig)):
        backends = field_choices(model, "llm.backend")
        assert set(backends) == {"local", "openai"} and shows(command, "--backend", backends)
    assert shows("curate", "--source", field_choices(CurateConfig, "source"))
    assert shows("curate", "--prompt-set", field_choices(CurateConfig, "prompt_set"))
    assert choices(options.GraphName) == set(GRAPHS)
    assert choices(options.PrincipleKind) == set(KINDS)
    assert choices(options.RunKind) == set(RUN_KINDS)
    assert choices(options.Shape) == set(SHAPES)


def test_choices_show_as_choices() -> None:
    """`--backend` and `--format` show `<openai|local>`, not `<str>`."""
    for args, shown in ((["curate"], "openai|local"), (["judge"], "openai|local"),
                        (["adversarial"], "openai|local"),
                        (["graph", "show"], "mermaid|ascii|svg|html"),
                        (["runs"], "import|curate|pairs")):
        output = CliRunner().invoke(app, [*args, "--help"], terminal_width=200).output
        assert shown in output, (args, output)


def test_graph_show_refuses_an_unknown_format_as_a_choice() -> None:
    result = CliRunner().invoke(app, ["graph", "show", "curate", "--format", "png"])
    assert result.exit_code == 2
    assert "'png' is not one of" in result.output


def test_training_flags_become_dotted_overrides_in_one_order() -> None:
    from kindling.commands.train import FLAG_KEYS, flag_sets

    given = {"report_to": "tensorboard, trackio", "learning_rate": 1e-4, "model": "m",
             "max_steps": None, "ctx": object()}
    assert flag_sets(given) == ["kindling.model=m", "trl.learning_rate=0.0001",
                                "trl.report_to=[tensorboard, trackio]"]
    for kind in ("sft", "rm", "grpo"):
        shown = CliRunner().invoke(app, ["train", kind, "--help"], terminal_width=200).output
        assert "--learning-rate" in shown and "--max-steps" in shown and "--output-dir" in shown
        assert ("--num-generations" in shown) == (kind == "grpo")
    assert all(key.startswith(("trl.", "kindling.")) for key in FLAG_KEYS.values())


def test_every_run_parameter_takes_an_id_or_run_colon_id(monkeypatch) -> None:
    import pytest
    import typer

    from kindling.options import parse_run

    run_params = [(n, p) for n, c in leaf_commands().items()
                  for p in c.params  # type: ignore[attr-defined]
                  if p.name in ("run", "run_id") or ((p.name or "").endswith("_run")
                                                     and p.name != "new_run")]
    assert len(run_params) >= 8
    assert [f"{n} {p.name}" for n, p in run_params if p.metavar != "RUN"] == []
    monkeypatch.setattr("kindling.context._current", None)  # no command line: no store to ask
    assert parse_run("12") == parse_run("run:12") == 12
    with pytest.raises(typer.BadParameter, match="no run named 'latest'"):
        parse_run("latest")


def test_every_command_with_a_live_display_has_the_one_progress_switch() -> None:
    commands = leaf_commands()
    for name in ("curate", "judge", "adversarial", "quickstart", "train sft", "train rm",
                 "train grpo"):
        opts = {o for p in commands[name].params for o in p.opts + p.secondary_opts}  # type: ignore[attr-defined]
        assert {"--progress", "--no-progress"} <= opts, name
    assert not [n for n, c in commands.items() for p in c.params  # type: ignore[attr-defined]
                if "--live" in p.opts + p.secondary_opts]


def test_config_flags_are_typed_and_described_by_their_fields() -> None:
    """A config flag takes its type and help from the model's field; the ones given reach the
    command as dotted overrides, in the flags' order; --set stays the command's own."""
    from kindling.agents.judge.config import JudgeConfig

    from kindling.config_flags import (
        MAX_COST_FLAG,
        ConfigFlagCommand,
        config_flags,
        config_overrides,
        flag,
    )

    probe = typer.Typer()

    @config_flags("kindling.agents.judge.config:JudgeConfig",
                  ["samples", MAX_COST_FLAG, "llm.model", flag("llm.base_url", "--url")])
    def show(ctx: typer.Context,
             sets: list[str] = typer.Option([], "--set", help="Other fields.")) -> None:
        """Print the overrides."""
        print(config_overrides(ctx), sets)

    probe.command("show", cls=ConfigFlagCommand)(show)
    probe.command("other")(lambda: None)
    runner = CliRunner()
    given = runner.invoke(probe, ["show", "--model", "m", "--samples", "3", "--set", "a=1"])
    assert given.exit_code == 0, given.output
    assert given.output.strip() == "{'samples': 3, 'llm.model': 'm'} ['a=1']"
    assert runner.invoke(probe, ["show"]).output.strip() == "{} []"
    refused = runner.invoke(probe, ["show", "--samples", "many"], terminal_width=400)
    assert refused.exit_code == 2 and "Invalid value for '--samples'" in refused.output
    command = get_command(probe).commands["show"]  # type: ignore[attr-defined]
    params = {p.name: p for p in command.get_params(typer.Context(command))}
    url_help = JudgeConfig.model_fields["llm"].annotation.model_fields["base_url"].description
    assert params["llm__base_url"].opts == ["--url"]
    assert params["llm__base_url"].help == f"{url_help} (sets llm.base_url)"
    assert params["budget__max_cost"].opts == ["--max-cost"]
    assert params["budget__max_cost"].metavar == "MONEY"
    assert list(params)[:4] == ["samples", "budget__max_cost", "llm__model", "llm__base_url"]


def test_endpoint_check_and_graph_step_take_their_flags_from_the_config_models() -> None:
    """`endpoint check`'s LLM flags are LLMConfig's fields; `graph step`'s --task and --force-task
    are the run configs' own, their help written once."""
    from kindling.agents.llm.config import LLMConfig
    from kindling.agents.task_words import FORCE_TASK_HELP

    from kindling.cli import app

    root = get_command(app)
    for group, name in (("endpoint", "check"), ("graph", "step")):
        command = root.commands[group].commands[name]  # type: ignore[attr-defined]
        params = {p.name: p for p in command.get_params(typer.Context(command))}
        if name == "check":
            for field in ("base_url", "model", "api_key_env", "max_tokens"):
                assert params[field].help == (f"{LLMConfig.model_fields[field].description} "
                                              f"(sets {field})")
        else:
            assert params["force_task"].help == f"{FORCE_TASK_HELP} (sets force_task)"
            assert "task" in params
