"""The wheel a (non-editable) `pip install` gets: one import name, everything inside it.

Built from a copy of this checkout's sources (a build folder left in the checkout could add stale
files) with the installed setuptools (no network, no build isolation), then installed into a
folder of its own and imported from there."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"kindling": "kindling", "agents": "kindling/agents", "graphs": "kindling/graphs",
           "ingest": "kindling/ingest", "store": "kindling/store", "rl": "kindling/rl",
           "prompts": "kindling/prompts", "configs": "kindling/configs"}
"""Each source folder of the repository and where it lives in the wheel."""
DATA = ("*.py", "*.jinja", "*.yaml", "*.jsonl", "*.html", "*.css", "*.js", "*.mako")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in FOLDERS:
        shutil.copytree(ROOT / folder, src / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(src)], check=True, capture_output=True)
    (found,) = out.glob("kindling-*.whl")
    return found


def source_files() -> set[str]:
    """Every file the package needs, as its path in the wheel."""
    wanted = set()
    for folder, target in FOLDERS.items():
        for pattern in DATA:
            for path in (ROOT / folder).rglob(pattern):
                if "__pycache__" not in path.parts:
                    wanted.add(f"{target}/{path.relative_to(ROOT / folder).as_posix()}")
    return wanted


def test_the_wheel_has_one_import_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"kindling", wheel.name.split("-py3")[0] + ".dist-info"}, top


def test_every_source_file_configs_and_prompts_are_inside(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(source_files() - names)
    assert not missing, missing
    assert {"kindling/configs/sft_tiny.yaml", "kindling/configs/accelerate/zero3.yaml",
            "kindling/prompts/judge/detect.zh.jinja",
            "kindling/prompts/principles/detector_initial.yaml",
            "kindling/store/migrations/env.py"} <= names


def test_the_installed_wheel_runs_outside_the_clone(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import kindling, kindling.store.db, kindling.graphs.registry;"
            "from importlib.resources import files;"
            "print(kindling.__file__);"
            "print(sorted(p.name for p in files('kindling.configs').iterdir() if p.suffix == '.yaml'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, capture_output=True,
                          text=True, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    where, configs = done.stdout.splitlines()
    assert Path(where).is_relative_to(target)  # not the checkout's source
    assert "sft_tiny.yaml" in configs and "curate_paper.yaml" in configs
