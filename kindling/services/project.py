"""`kindling init`: a project folder of your own, holding a copy of every shipped config.

Nothing that exists is ever overwritten or deleted: every file to write is checked first, and
if any is there already nothing is written. The files are written into a staging folder inside
the project folder, then each is hard-linked into place (which refuses to replace a file that
appeared meanwhile); if one cannot be placed, those already placed are removed again.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kindling.store.errors import UserError

NOTE_FILE = "KINDLING.md"
CONFIGS = "configs"
STORE_FILE = "kindling.db"

CONFIG_PURPOSES: dict[str, str] = {
    "sft_tiny.yaml": "SFT of the tiny CPU model on the imported SFT set (`kindling train sft`)",
    "rm_tiny.yaml": "a reward model from the tiny SFT model (`kindling train rm`)",
    "grpo_tiny.yaml": "GRPO of the tiny policy with the reward model (`kindling train grpo`)",
    "grpo_judge_tiny.yaml": "GRPO of the tiny policy with the LLM judge as reward",
    "curate_local.yaml": "Path A (multi-agent curation) offline, with the shipped SmolLM2",
    "curate_openai.yaml": "Path A against an OpenAI-compatible endpoint (DeepSeek, OpenAI, vLLM)",
    "curate_paper.yaml": "Path A at the paper's scale (candidates from the SFT policy)",
    "adversarial_local.yaml": "Path B (principle optimisation) offline, with the shipped SmolLM2",
    "quickstart.yaml": "the quickstart's steps and sizes (`kindling quickstart`; its flags on top)",
    "experiment_tiny.yaml": "the paper's whole comparison at CPU size (`kindling experiment paper`)",
    "experiment_paper.yaml": "the paper's whole comparison at its scale (GPUs, DeepSeek)",
    "paper.yaml": "the paper's SFT, RM and GRPO settings for Qwen2.5-7B-Instruct (GPUs)",
    "paper_grpo_judge.yaml": "the paper's winning arm: GRPO with the principle-guided judge",
    "accelerate/ddp.yaml": "multi-GPU data parallel (`--launcher accelerate --accelerate-config`)",
    "accelerate/fsdp.yaml": "multi-GPU fully sharded (FSDP 2)",
    "accelerate/zero3.yaml": "multi-GPU DeepSpeed ZeRO-3",
}
"""What each shipped config is for, as the note says it (others: their first comment line)."""


@dataclass(frozen=True)
class InitResult:
    """What `init_project` wrote."""

    folder: Path
    written: list[Path]  # relative to folder


def shipped_config_files(shipped: Path) -> list[Path]:
    """The shipped configs (every .yaml under the shipped folder), relative to it, sorted."""
    return sorted(p.relative_to(shipped) for p in shipped.rglob("*.yaml")
                  if "__pycache__" not in p.parts)


def init_project(folder: Path, shipped: Path | None = None) -> InitResult:
    """Write `folder/configs/` (a copy of every shipped config) and `folder/KINDLING.md`.

    Raises:
        UserError: `folder` is not a folder, or a file to write is there already (all are
            named; nothing was written).
    """
    from kindling.configs import shipped_configs

    shipped = shipped or shipped_configs()
    folder = Path(os.path.abspath(folder))
    configs = shipped_config_files(shipped)
    targets = [Path(CONFIGS) / rel for rel in configs] + [Path(NOTE_FILE)]
    _check_free(folder, targets)
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with _staging(folder) as stage:
            for rel in configs:
                (stage / CONFIGS / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shipped / rel, stage / CONFIGS / rel)
            (stage / NOTE_FILE).write_text(project_note(folder, configs, shipped),
                                           encoding="utf-8")
            _place_all(stage, folder, targets)
    except BaseException:
        if made:
            _undo([], [folder])
        raise
    return InitResult(folder, targets)


def _check_free(folder: Path, targets: list[Path]) -> None:
    """Refuse before writing anything: a file where the folder goes, or any target that exists
    (or a path on the way to it that is not a folder)."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: is a file, not a folder (nothing was written)")
    taken = sorted({t.as_posix() for t in targets if _blocked(folder, t)})
    if taken:
        raise UserError(f"{folder}: kindling init never overwrites a file, and "
                        f"{'this one exists' if len(taken) == 1 else 'these exist'} there: "
                        + ", ".join(taken) + " (nothing was written; pick another folder, or "
                        "move them away first)")


def _blocked(folder: Path, target: Path) -> bool:
    path = folder / target
    if os.path.lexists(path):
        return True
    return any(os.path.lexists(folder / p) and not (folder / p).is_dir()
               for p in target.parents if p != Path("."))


@contextmanager
def _staging(folder: Path) -> Iterator[Path]:
    stage = Path(tempfile.mkdtemp(prefix=".kindling-init-", dir=folder))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _place_all(stage: Path, folder: Path, targets: list[Path]) -> None:
    """Link every staged file into place; on any failure remove what was placed (and folders
    made for it), then raise."""
    placed: list[Path] = []
    made: list[Path] = []
    try:
        for rel in targets:
            made += _make_parents(folder, rel)
            _place(stage / rel, folder / rel)
            placed.append(folder / rel)
    except FileExistsError as exc:
        _undo(placed, made)
        raise UserError(f"{exc.filename}: appeared while kindling init ran (nothing was "
                        "written)") from exc
    except BaseException:
        _undo(placed, made)
        raise


def _make_parents(folder: Path, rel: Path) -> list[Path]:
    made = []
    for parent in reversed([p for p in rel.parents if p != Path(".")]):
        if not (folder / parent).exists():
            (folder / parent).mkdir()
            made.append(folder / parent)
    return made


def _place(src: Path, dest: Path) -> None:
    """`src` at `dest`, never replacing a file there (a hard link; where links are not
    supported, an exclusive create)."""
    try:
        os.link(src, dest)
    except FileExistsError:
        raise
    except OSError:
        with open(src, "rb") as inp, open(dest, "xb") as out:
            shutil.copyfileobj(inp, out)


def _undo(placed: list[Path], made: list[Path]) -> None:
    for path in placed:
        path.unlink(missing_ok=True)
    for path in reversed(made):
        try:
            path.rmdir()
        except OSError:
            pass


def config_purpose(shipped: Path, rel: Path) -> str:
    """One line on what a config is for (the table above, else its first comment line)."""
    known = CONFIG_PURPOSES.get(rel.as_posix())
    if known is not None:
        return known
    for line in (shipped / rel).read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def project_note(folder: Path, configs: list[Path], shipped: Path) -> str:
    """The text of KINDLING.md: what is in the folder, where things land, what to type next."""
    rows = "\n".join(f"- `configs/{rel.as_posix()}`: {config_purpose(shipped, rel)}"
                     for rel in configs)
    return NOTE_TEMPLATE.format(folder=folder, rows=rows, store=STORE_FILE)


NOTE_TEMPLATE = """\
# This Kindling project

Made by `kindling init` in {folder}. Everything here is yours to edit; Kindling never
overwrites it.

## Configs

Each file in `configs/` is a run config, a copy of one shipped with Kindling:

{rows}

Paths written in a config resolve against the config's own folder, so `../runs/sft_tiny` in
`configs/sft_tiny.yaml` is `runs/sft_tiny` in this folder. Paths given on the command line
(`--set`, `--model`, `--output-dir`) resolve against the folder you run in. A model written
without `./` or `../` stays a hub id unless that path exists (`Qwen/Qwen2.5-7B-Instruct`).
Runs record absolute paths, so a run can be used from any folder.

## Where things go

- `runs/`: what training writes (SFT and GRPO policies, checkpoints).
- `models/`: models built or trained here (the tiny model, reward models).
- `{store}`: the store (runs, data, agent calls, principles), in the folder you run commands
  in, unless `--db-url` or `KINDLING_DB_URL` names another.

## Next

Run these from this folder:

    kindling data import --upstream          # or --from PATH/TO/dataset
    kindling quickstart                      # the whole pipeline on two CPU cores
    kindling model init --tiny --out models/tiny
    kindling train sft --config configs/sft_tiny.yaml
    kindling studio                          # look at the runs in a browser
"""
