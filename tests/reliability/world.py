"""The reliability suite's world: a store holding the paper data and a few runs, a user's files
around it, and a snapshot of both that a bad command must leave exactly as it was."""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

from kindling.store.db import Store
from kindling.store.models import PrincipleVersion, Run
from sqlalchemy import Engine, create_engine, func, inspect, select, text
from typer.main import get_command
from typer.testing import CliRunner, Result

from tests.reliability.cases_files import write_bound_files

if TYPE_CHECKING:
    from tests.conftest import PaperDB

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
KEY = "sk-kindlingPLANTED0123456789abcdef"  # a key given where a variable's name belongs
STORE_FILES = ("kindling.db", "kindling.db-wal", "kindling.db-shm")


@dataclass
class World:
    """Where the cases run: `root` (the cwd) holds the store and the user's files."""

    root: Path
    store: Store
    ids: dict[str, Any]

    @property
    def db(self) -> str:
        return self.store.url

    def fill(self, arg: str) -> str:
        """A case argument with {root}, {db}, {paper}, {configs}, {key} and run ids filled in."""
        return arg.format(root=self.root, db=self.db, paper=paper_data(), configs=REPO / "configs",
                          key=KEY, ro=f"sqlite:///file:{self.root / 'kindling.db'}?mode=ro&uri=true",
                          **self.ids)


def paper_data() -> Path:
    from tests.conftest import PAPER_DATA

    return PAPER_DATA


def build_world(root: Path, paper_db: PaperDB | None = None) -> World:
    """The store (paper data, the shipped principle sets, a curate, a judge, an sft run and a
    grpo run named grpo-rm) and
    the user's files the cases point at. Given the session's `paper_db` fixture, the paper data
    is a copy of it instead of a new import."""
    from kindling.ingest.imports import import_paper_data
    from kindling.store import work
    from kindling.store.principles import resolve_version
    from kindling.store.version import code_version

    if paper_db is not None:
        import_run = paper_db.copy_to(root / "kindling.db")
        store = Store(f"sqlite:///{root / 'kindling.db'}")
    else:
        store = Store(f"sqlite:///{root / 'kindling.db'}")
        import_run = import_paper_data(store, paper_data(), code_version="test").run_id
    sd = resolve_version(store, None, "detector", "detector_initial").id
    sg = resolve_version(store, None, "generator", "generator_initial").id
    resolve_version(store, "path_a_judge", "debate_judge", "path_a_judge")
    en = {"task": "slogans-en"}  # versions of another task than the cases' greetings-zh
    sd_en = resolve_version(store, "detector_slogans_en", "detector", "", **en).id
    pj_en = resolve_version(store, "path_a_judge_slogans_en", "debate_judge", "", **en).id
    runs = {}
    for kind, name in (("curate", None), ("judge", None), ("sft", None), ("grpo", "grpo-rm")):
        run, _ = work.get_or_create_run(store, kind=kind, run_key=None, config={},
                                        code_version=code_version(), name=name)
        work.finish_run(store, run.id, "finished", {})
        runs[f"{kind}_run"] = run.id
    write_user_files(root)
    return World(root, store, {"import_run": import_run, "sd": sd, "sg": sg, "sd_en": sd_en,
                               "pj_en": pj_en, **runs})


def write_user_files(root: Path) -> None:
    """Files a user owns (never to be touched) and broken inputs of every kind."""
    files: dict[str, str | bytes] = {
        "precious/thesis.txt": "years of work", "precious/sub/notes.md": "notes",
        "adir/keep.txt": "keep", "afile.txt": "hello", "notdb.txt": "not a database",
        "existing.jsonl": '{"mine": true}\n', "user_export/pairs.jsonl": "my pairs\n", "existing.yaml": "mine: true\n",
        "users_model/config.json": "{}", "qs_work/models/tiny/config.json": "{}",
        "exp_users/runs/sft/config.json": "{}", "exp_state/experiment.json": '{"mine": 1}',
        "cache_bad/random_query.txt": "my own queries\n",
        "my_project/configs/sft_tiny.yaml": "mine: true\n",
        "cfg_utf16.yaml": "limit: 1\n".encode("utf-16"), "cfg_broken.yaml": "limit: [\n",
        "cfg_list.yaml": "- a\n- b\n", "cfg_unknown.yaml": "nope: 1\n",
        "train_unknown.yaml": "kindling:\n  nope: 1\n",
        "items_badjson.jsonl": '{"query": "q", "response": "r"}\n{not json\n',
        "items_nofield.jsonl": '{"query": "q"}\n', "items_list.jsonl": "[1, 2]\n",
        "items_blank.jsonl": '{"query": "q", "response": "   "}\n',
        "items_huge.jsonl": '{"query": "q", "response": "' + "长" * 1_000_000 + '"}\n',
        "items_utf16.jsonl": '{"query": "q", "response": "r"}\n'.encode("utf-16"),
        "items_empty.jsonl": "\n\n",
        "p_good.yaml": "name: mine\nkind: detector\nrules: [规则一, 规则二]\n",
        "cfg_task.yaml": "task: ./tasks/badtask\n",
        "p_en.yaml": "kind: detector\nlanguage: en\nrules: [Be specific]\n",
        "p_en_task.yaml": "kind: detector\nlanguage: en\ntask: slogans-en\nrules: [Be clear]\n",
        "p_many.yaml": "kind: detector\nrules:\n" + "".join(f"  - rule {i}\n" for i in range(50)),
        "p_huge.yaml": "kind: detector\nrules:\n  - " + "x" * 1_000_000 + "\n",
        "p_utf16.yaml": "kind: detector\nrules: [a]\n".encode("utf-16"),
        "p_broken.yaml": "kind: detector\nrules: [\n", "p_unknown.yaml": "kind: detector\nfoo: 1\nrules: [a]\n",
        "p_kind.yaml": "kind: wizard\nrules: [a]\n", "p_dup.yaml": "kind: detector\nrules: [a, a]\n",
    }
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    write_bound_files(root)
    write_tasks(root)
    layout = root / "data_folder_for_file"  # the paper layout with one data file a folder
    for sub in ("sft", "reward_model", "grpo_data", "evaluation_set"):
        for src in (paper_data() / sub).iterdir():
            (layout / sub).mkdir(parents=True, exist_ok=True)
            (layout / sub / src.name).symlink_to(src)
    (layout / "random_query.txt").mkdir()


def write_tasks(root: Path) -> None:
    """./tasks/mine (greetings-zh as `mine`) and ./tasks/badtask (a bad length_unit)."""
    import shutil

    from kindling.agents.task import TASKS_DIR

    for name, old, new in (("mine", "name: greetings-zh", "name: mine"),
                           ("badtask", "length_unit: chars", "length_unit: syllables")):
        folder = Path(shutil.copytree(TASKS_DIR / "greetings-zh", root / "tasks" / name))
        text = (folder / "task.yaml").read_text("utf-8")
        (folder / "task.yaml").write_text(text.replace(old, new), encoding="utf-8")


_digests: dict[tuple[str, int, int, int], str] = {}


def file_digest(path: Path) -> str:
    """A file's SHA-256, hashed again only when its inode, size or mtime changed (every write
    changes the mtime; the world's 3 MB inputs are not rehashed twice a case)."""
    st = path.stat()
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _digests:
        _digests[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _digests[key]


def snapshot(world: World) -> dict[str, Any]:
    """Every file under the world (but the store's own, compared by content instead), every
    table's row count, the runs' and principle versions' states, Kindling's Postgres databases."""
    tree = {}
    for dirpath, _dirs, names in os.walk(world.root):
        for name in names:
            path = Path(dirpath) / name
            rel = str(path.relative_to(world.root))
            if rel in STORE_FILES:
                continue
            tree[rel] = "link" if path.is_symlink() else file_digest(path)
        for name in _dirs:
            tree[str((Path(dirpath) / name).relative_to(world.root)) + "/"] = "dir"
    engine = world.store.engine
    with world.store.session() as s:
        counts = {t: s.scalar(select(func.count()).select_from(text(f'"{t}"')))
                  for t in inspect(engine).get_table_names()}
        runs = s.execute(select(Run.id, Run.kind, Run.status)).all()
        versions = s.execute(select(PrincipleVersion.id, PrincipleVersion.active)).all()
    return {"tree": tree, "counts": counts, "runs": runs, "versions": versions,
            "pg": kindling_pg_databases()}


@functools.cache
def pg_admin() -> Engine:
    """One engine on the server's `test` database for the whole session (a new engine per
    snapshot cost more than most cases)."""
    return create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")


def kindling_pg_databases() -> list[str]:
    with pg_admin().connect() as conn:
        return sorted(conn.execute(text(
            "SELECT datname FROM pg_database WHERE datname LIKE 'kindling_rel%'")).scalars())


@functools.cache
def cli_command() -> Any:
    """The CLI's click command tree, built once (typer's CliRunner builds it anew on every
    call, most of a fast case's time)."""
    from kindling.cli import app

    return get_command(app)


def invoke(args: Sequence[str], env: Mapping[str, str | None] | None = None) -> Result:
    """`kindling ARGS` in this process, as typer's CliRunner runs it, on the one built tree."""
    from kindling.cli import app

    with mock.patch("typer.testing._get_command", lambda _app: cli_command()):
        return CliRunner().invoke(app, list(args), env=env)
