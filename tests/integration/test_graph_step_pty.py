"""`kindling graph step` in a real pseudo-terminal (a child process, rich writing to a TTY): break,
inspect, edit, continue, and the stored verdict reflects the edit."""

import os
import sys
from pathlib import Path

import pexpect
from kindling.store.db import Store
from kindling.store.models import Verdict
from sqlalchemy import select

from tests.fakes import seed_tiny_data
from tests.integration.helpers import http_config
from tests.standin import StandinServer

SHORT = "生日快乐呀"
LONG = "亲爱的朋友，生日快乐！愿你新的一岁眼里有光、心中有爱，所求皆如愿，所行皆坦途，岁岁常欢愉。"


def test_step_break_edit_continue_in_a_terminal(sqlite_store: Store, tmp_path: Path) -> None:
    seed_tiny_data(sqlite_store, [("生日祝福", SHORT, 0)])
    with StandinServer() as server:
        cfg = tmp_path / "curate.yaml"
        cfg.write_text(http_config(server.base_url).model_dump_json(), encoding="utf-8")
        child = pexpect.spawn(
            sys.executable, ["-m", "kindling", "--db-url", sqlite_store.url, "graph", "step",
                             "curate", "-c", str(cfg), "--break-before", "judge"],
            env={**os.environ, "KINDLING_TEST_KEY": "k"}, encoding="utf-8", timeout=90,
            dimensions=(60, 140))
        child.expect_exact("paused before retrieve_exemplars")
        child.expect_exact("(step)")
        child.sendline("c")
        child.expect_exact("breakpoint before judge")
        child.expect_exact("(step)")
        child.sendline("p candidate")
        child.expect_exact(SHORT)
        child.expect_exact("(step)")
        child.sendline("e candidate=" + LONG)
        child.expect_exact("edited")
        child.expect_exact("(step)")
        child.sendline("c")
        child.expect_exact("finished")
        child.expect(pexpect.EOF)
        child.close()
    assert child.exitstatus == 0
    with sqlite_store.session() as s:
        assert s.scalars(select(Verdict.final_verdict)).one() == 1
