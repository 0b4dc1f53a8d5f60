"""The CLI's grammar, read from the command tree: the same options mean the same on every command."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command
from typer.testing import CliRunner

from kindling.cli import app


def leaf_commands() -> dict[str, object]:
    def walk(group: object, prefix: str) -> dict[str, object]:
        found: dict[str, object] = {}
        for name, command in group.commands.items():  # type: ignore[attr-defined]
            path = f"{prefix} {name}".strip()
            found |= walk(command, path) if hasattr(command, "commands") else {path: command}
        return found

    return walk(get_command(app), "")


def test_every_command_takes_db_url_and_every_config_flag_has_c() -> None:
    commands = leaf_commands()
    assert len(commands) > 20
    no_db_url = [n for n, c in commands.items()
                 if not any("--db-url" in p.opts for p in c.params)]  # type: ignore[attr-defined]
    config_without_c = [n for n, c in commands.items() for p in c.params  # type: ignore[attr-defined]
                        if "--config" in p.opts and "-c" not in p.opts]
    assert (no_db_url, config_without_c) == ([], [])


def test_every_option_and_argument_has_help() -> None:
    missing = [f"{n} {p.name}" for n, c in leaf_commands().items()
               for p in c.params if not getattr(p, "help", None)]  # type: ignore[attr-defined]
    assert missing == []


def test_a_commands_db_url_wins_over_the_root_one(tmp_path: Path) -> None:
    root, own = tmp_path / "root.db", tmp_path / "own.db"
    result = CliRunner().invoke(app, ["--db-url", f"sqlite:///{root}", "data", "stats",
                                      "--db-url", f"sqlite:///{own}"])
    assert result.exit_code == 0, result.output
    assert own.exists() and not root.exists()
