"""A run killed outright never marks itself ended: runs record the process that opened them
(migration 0008), and a running run whose process is gone shows as crashed, in `runs list`,
`runs show` and the studio, while runs several workers share keep their stored status."""

from __future__ import annotations

import subprocess
import sys

import pytest
from kindling.store.db import Store
from kindling.store.models import Run
from kindling.store.run_liveness import shown_status
from kindling.store.work import get_or_create_run, run_process
from sqlalchemy import inspect
from typer.testing import CliRunner

from kindling.cli import app
from kindling.studio.runs_data import run_row
from tests.unit.test_store_ownership import upgrade_to

OLD_RUN = ("INSERT INTO runs (kind, config, status, code_version, started_at, metrics) VALUES "
           "('sft', '{}', 'running', 't', CURRENT_TIMESTAMP, '{}')")
DIES = """
import os, signal, sys
from kindling.store.db import Store
from kindling.store.work import get_or_create_run
store = Store(sys.argv[1])
for kind in ("sft", "curate", "pairs"):
    get_or_create_run(store, kind=kind, run_key=kind, config={}, code_version="t")
os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer does: nothing is marked
"""


@pytest.mark.parametrize("backend", ["sqlite_url", "pg_url"])
def test_migration_adds_the_process_and_old_runs_show_their_status(backend: str,
                                                                   request) -> None:
    url = request.getfixturevalue(backend)
    upgrade_to(url, "0007", OLD_RUN)
    store = Store(url)
    try:
        assert "process" in {c["name"] for c in inspect(store.engine).get_columns("runs")}
        with store.session() as s:
            [old] = s.query(Run).all()
            s.expunge(old)
        assert old.process is None and shown_status(old) == "running"  # not known: as stored
    finally:
        store.close()


def test_a_run_whose_process_was_killed_shows_as_crashed(sqlite_url: str) -> None:
    died = subprocess.run([sys.executable, "-c", DIES, sqlite_url], timeout=120)
    assert died.returncode == -9
    store = Store(sqlite_url)
    try:
        mine, _ = get_or_create_run(store, kind="grpo", run_key=None, config={},
                                    code_version="t")
        with store.session() as s:
            runs = {r.kind: r for r in s.query(Run).all()}
            s.expunge_all()
        sft, curate = runs["sft"], runs["curate"]
        assert sft.status == "running" and sft.process and sft.process != run_process()
        assert shown_status(sft) == "crashed" and run_row(sft)["status"] == "crashed"
        assert shown_status(curate) == "running"  # several workers may share it: as stored
        assert mine.process == run_process() and shown_status(mine) == "running"  # alive
        assert shown_status(runs["pairs"]) == "crashed"
        again, created = get_or_create_run(store, kind="pairs", run_key="pairs", config={},
                                           code_version="t")  # taken up again: this process's
        assert not created and again.process == run_process() and shown_status(again) == "running"
        here = sft.process.rpartition(":")[0]
        for elsewhere in ("another-host:1", sft.process.replace("pid:[", "pid:[9"),
                          f"{here}:0", f"{here}:{'9' * 30}"):  # not a process id: as stored
            sft.process = elsewhere  # another host, or a container with its own process ids
            assert shown_status(sft) == "running"  # cannot be seen from here: as stored
    finally:
        store.close()
    listed = CliRunner().invoke(app, ["--db-url", sqlite_url, "runs"],
                                terminal_width=200)
    assert listed.exit_code == 0 and "crashed" in listed.output, listed.output
    shown = CliRunner().invoke(app, ["--db-url", sqlite_url, "runs", "show", str(sft.id)],
                               terminal_width=200)
    assert shown.exit_code == 0 and "crashed" in shown.output, shown.output
