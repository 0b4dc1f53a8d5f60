"""`kindling train ... --launcher accelerate`: the `accelerate launch` command line that re-runs it.

The command re-executes `python -m kindling ... train <kind> ... --launcher none` under
`accelerate launch`, forwarding every option, so each process trains in-process as a plain
`kindling train` would (rank 0 alone writes to the store).
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import yaml

from kindling.store.errors import FlagError, UserError
from kindling.store.yaml_io import read_yaml_text


class Launcher(StrEnum):
    """How `kindling train` runs: in this process, or re-run under `accelerate launch`."""

    none = "none"
    accelerate = "accelerate"

DEEPSPEED_HINT = "pip install 'kindling[deepspeed]'"


@dataclass(frozen=True)
class TrainArgs:
    """A `kindling train <kind>` invocation's own options, to be forwarded as they were given."""

    kind: str
    config: Path
    sets: list[str] = field(default_factory=list)
    live: bool = True
    db_url: str | None = None
    overwrite: bool = False


def check_accelerate_config(path: Path) -> None:
    """The accelerate config must exist and, if it asks for DeepSpeed, DeepSpeed be installed.

    Raises:
        FlagError: naming the file (missing, unreadable, not a mapping) or the missing extra.
    """
    try:
        data = yaml.safe_load(read_yaml_text(path, "accelerate config"))
    except UserError as exc:  # missing, a folder, a device, past 1 MiB, not UTF-8
        raise FlagError(f"--accelerate-config {exc}") from exc
    except yaml.YAMLError as exc:
        raise FlagError(f"--accelerate-config {path}: cannot read it: {exc}") from exc
    if not isinstance(data, dict):
        raise FlagError(f"--accelerate-config {path}: not an accelerate config (expected a mapping)")
    if data.get("distributed_type") == "DEEPSPEED" and importlib.util.find_spec("deepspeed") is None:
        raise FlagError(f"--accelerate-config {path}: distributed_type DEEPSPEED needs the optional "
                         f"extra: {DEEPSPEED_HINT}")


def accelerate_command(
    train: TrainArgs, *, accelerate_config: Path | None = None, num_processes: int | None = None,
    python: str = sys.executable,
) -> list[str]:
    """The argv that runs `train` under `accelerate launch` (same interpreter, so same environment).

    Args:
        train: The options of the `kindling train` call being re-run.
        accelerate_config: `--config_file` for accelerate (None: accelerate's default config).
        num_processes: `--num_processes` (None: the config's value).
        python: The interpreter to run accelerate with.

    Returns:
        `python -m accelerate.commands.launch [--config_file F] [--num_processes N] -m kindling
        [--db-url U] train <kind> --config C [--set K=V ...] --progress|--no-progress --launcher none [--overwrite]`.
    """
    cmd = [python, "-m", "accelerate.commands.launch"]
    if accelerate_config is not None:
        cmd += ["--config_file", str(accelerate_config)]
    if num_processes is not None:
        cmd += ["--num_processes", str(num_processes)]
    cmd += ["-m", "kindling"]
    if train.db_url is not None:
        cmd += ["--db-url", train.db_url]
    cmd += ["train", train.kind, "--config", str(train.config)]
    for override in train.sets:
        cmd += ["--set", override]
    cmd += ["--progress" if train.live else "--no-progress", "--launcher", "none"]
    if train.overwrite:
        cmd.append("--overwrite")
    return cmd
