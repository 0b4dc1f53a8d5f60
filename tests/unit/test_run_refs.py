"""'No such run' and 'no such version' name the store looked in and suggest the nearest run names
there (or say it holds none yet); a missing store says where the quickstart keeps its store."""

from __future__ import annotations

from pathlib import Path

import pytest
from kindling.store import work
from kindling.store.db import Store
from kindling.store.errors import NotFound
from kindling.store.places import store_place
from kindling.store.refs import nearest, no_run_message, no_version_message
from typer.testing import CliRunner

from kindling.cli import app


@pytest.fixture
def named(tmp_path: Path) -> Store:
    """A store with a grpo run named grpo-rm, one named grpo-rm-lc and an sft run named sft."""
    store = Store(f"sqlite:///{tmp_path / 'kindling.db'}")
    for kind, name in (("sft", "sft"), ("grpo", "grpo-rm"), ("grpo", "grpo-rm-lc")):
        run, _ = work.get_or_create_run(store, kind=kind, run_key=None, config={},
                                        code_version="t", name=name)
        work.finish_run(store, run.id, "finished", {})
    yield store
    store.close()


@pytest.fixture
def empty(tmp_path: Path) -> Store:
    """A Kindling store that holds no runs and no principle versions."""
    store = Store(f"sqlite:///{tmp_path / 'kindling.db'}")
    yield store
    store.close()


def kindling(*args: str) -> tuple[int, str]:
    """`kindling ARGS` in this process: exit code and stderr as one line."""
    result = CliRunner().invoke(app, list(args), env={"KINDLING_DB_URL": None})
    return result.exit_code, " ".join(result.stderr.split())


def test_nearest_ignores_case_underscores_and_dashes() -> None:
    names = ["grpo-rm-lc", "grpo-rm", "sft"]
    assert nearest("grpo_rm", names) == ["grpo-rm"]  # the same name but for spelling: only it
    assert nearest("GRPO_RM_LC", names) == ["grpo-rm-lc"]
    assert nearest("grpo-r", names) == ["grpo-rm", "grpo-rm-lc"]
    assert nearest("wizard-of-oz", names) == []
    assert nearest("", names) == []


def test_a_name_no_run_has_suggests_the_nearest_and_names_the_store(named: Store) -> None:
    place = str(Path(named.url.removeprefix("sqlite:///")).resolve())
    message = no_run_message(named, "grpo_rm")
    assert message.startswith(f"no run named 'grpo_rm' in the store {place}")
    assert message.endswith("did you mean grpo-rm?")
    nonsense = no_run_message(named, "wizard-of-oz")
    assert "did you mean" not in nonsense and "`kindling runs` lists its runs" in nonsense
    assert "did you mean" not in no_run_message(named, 9999)  # an id gets no name suggested
    assert no_run_message(named, "grpo_rm", kinds=("sft",)).endswith("lists its sft runs)")


def test_an_empty_store_says_it_holds_no_runs_or_versions_yet(empty: Store) -> None:
    assert no_run_message(empty, "grpo-rm").endswith("; the store holds no runs yet")
    assert no_run_message(empty, 3).endswith("; the store holds no runs yet")
    assert no_version_message(empty, 7).endswith("; the store holds no principle versions yet")


def test_a_store_is_named_by_its_absolute_path_or_its_url_without_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert store_place("sqlite:///kindling.db") == str(tmp_path / "kindling.db")
    assert store_place("sqlite:///sub/../k.db") == str(tmp_path / "k.db")
    url = "postgresql+psycopg://kindling:s3cret@db.example:5432/runs"
    message = no_run_message(url, 12)
    assert "s3cret" not in message and "kindling:***@db.example:5432/runs" in message


def test_the_cli_suggests_the_run_a_name_was_meant_for(named: Store) -> None:
    place = str(Path(named.url.removeprefix("sqlite:///")).resolve())
    code, line = kindling("--db-url", named.url, "runs", "show", "grpo_rm")
    assert code == 2 and f"in the store {place}; did you mean grpo-rm?" in line, line
    code, line = kindling("--db-url", named.url, "runs", "show", "wizard-of-oz")
    assert code == 2 and f"no run named 'wizard-of-oz' in the store {place}" in line, line
    assert "did you mean" not in line
    code, line = kindling("--db-url", named.url, "eval", "policy", "--model", "run:GRPO_RM_LC")
    assert code == 2 and "did you mean grpo-rm-lc?" in line and place in line, line


def test_the_cli_says_an_empty_store_holds_no_runs(empty: Store) -> None:
    place = str(Path(empty.url.removeprefix("sqlite:///")).resolve())
    for args in (["runs", "show", "grpo-rm"], ["runs", "show", "3"],
                 ["pairs", "export", "--run", "3", "--out", "x"]):
        code, line = kindling("--db-url", empty.url, *args)
        assert code == 2 and f"in the store {place}; the store holds no runs yet" in line, line
    code, line = kindling("--db-url", empty.url, "principles", "show", "7")
    assert code == 2 and "holds no principle versions yet" in line, line


def test_the_studio_api_names_the_store_and_suggests_nothing_for_an_id(named: Store) -> None:
    from kindling.studio.runs_data import require_run

    with pytest.raises(NotFound, match=r"no run with id 99 in the store /.*kindling\.db"):
        require_run(named, 99)


def test_a_missing_store_says_where_the_quickstart_keeps_its_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["runs"], ["runs", "show", "grpo-rm"], ["studio", "--port", "8765"]):
        code, line = kindling(*args)
        assert code == 2, line
        assert line.startswith(f"error: no Kindling store at {tmp_path / 'kindling.db'} "
                               "(commands that only read never create one): run this in the "
                               "folder where you ran `kindling quickstart` or `kindling data "
                               "import`"), line
        assert "--db-url" in line
    code, line = kindling("--db-url", "sqlite:///typo.db", "runs")
    assert code == 2 and f"no Kindling store at {tmp_path / 'typo.db'}" in line, line
    assert "check the path in --db-url or KINDLING_DB_URL" in line
    assert list(tmp_path.iterdir()) == []  # nothing created
