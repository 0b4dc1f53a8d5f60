"""`kindling --help` and every command's help load no heavy library (benchmarks/cli_startup.py
measures the time; this checks the cause, never the clock)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "transformers", "trl", "langchain_core", "langgraph", "openai", "sqlalchemy",
         "alembic", "datasets", "pydantic", "bm25s", "jinja2")

PROBE = """
import sys
from typer.main import get_command
from kindling.cli import app

def walk(command):
    for sub in getattr(command, "commands", {}).values():
        walk(sub)

walk(get_command(app))
print(" ".join(sorted(m for m in HEAVY_NAMES if m in sys.modules)))
"""


def test_building_every_command_imports_no_heavy_library() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE.replace("HEAVY_NAMES", repr(HEAVY))], capture_output=True,
                          text=True, check=True)
    assert done.stdout.split() == []


def test_the_probe_sees_a_heavy_import() -> None:
    probe = PROBE.replace("walk(get_command(app))", "import sqlalchemy\nwalk(get_command(app))")
    done = subprocess.run([sys.executable, "-c", probe.replace("HEAVY_NAMES", repr(HEAVY))], capture_output=True,
                          text=True, check=True)
    assert done.stdout.split() == ["sqlalchemy"]
