"""Every command with bad inputs of each kind: exit 2, one line naming what is wrong, no
traceback, and not a row or a file changed (store row counts, run and principle states and the
file tree compared before and after each case)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from kindling.cli import app
from tests.conftest import PaperDB
from tests.reliability.cases import Case, all_cases
from tests.reliability.world import KEY, World, build_world, invoke, snapshot

pytestmark = pytest.mark.reliability
CASES = all_cases()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, paper_db: PaperDB) -> Iterator[World]:
    root = tmp_path_factory.mktemp("reliability")
    built = build_world(root, paper_db)
    yield built
    built.store.close()


def run_case(world: World, case: Case):
    args = [world.fill(a) for a in case.args]
    if "--db-url" not in args:
        args = ["--db-url", world.db, *args]
    env = {"KINDLING_DB_URL": None, **{k: world.fill(v) for k, v in case.env.items()}}
    with contextlib.chdir(world.root):
        return invoke(args, env), args


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(world: World, case: Case) -> None:
    before = snapshot(world)
    result, args = run_case(world, case)
    after = snapshot(world)
    shown = f"kindling {' '.join(args)}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{shown}\n{result.exception!r}")
    assert result.exit_code == 2, shown
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), shown
    for needle in case.needles:
        assert world.fill(needle) in lines[0], f"{needle!r} not in the message\n{shown}"
    assert "Traceback" not in result.output, shown
    assert KEY not in result.output  # a planted key is never echoed
    assert after == before, f"{shown}\nchanged: " + ", ".join(
        k for k in before if before[k] != after[k])


def command_paths(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[str]:
    """Every command of the CLI as its words (a group that runs by itself counts too)."""
    if prefix and group.invoke_without_command:
        yield " ".join(prefix)
    for name, sub in group.commands.items():
        if hasattr(sub, "commands"):
            yield from command_paths(sub, (*prefix, name))
        else:
            yield " ".join((*prefix, name))


def path_of(root: Any, args: tuple[str, ...]) -> str:
    """The command a case runs: its leading words that name (sub)commands."""
    cmd = root
    words: list[str] = []
    for token in args:
        if not hasattr(cmd, "commands") or token not in cmd.commands:
            if words:
                break
            continue  # --db-url URL before the command
        words.append(token)
        cmd = cmd.commands[token]
    return " ".join(words)


def test_the_table_covers_every_command() -> None:
    """A new command without cases here fails this test: add its bad inputs to cases.py."""
    root = get_command(app)
    covered = {path_of(root, c.args) for c in CASES}
    missing = sorted(set(command_paths(root)) - covered)
    assert missing == [], missing


def test_the_planted_key_is_in_no_store_file(world: World) -> None:
    for path in Path(world.root).glob("kindling.db*"):
        assert KEY.encode() not in path.read_bytes(), path
