"""Build a tiny model and train one run (SFT, reward model, GRPO) in this process.

`kindling model init`, `kindling train ...` and the quickstart call these; so can a notebook:

    from kindling.services.training import train_from_config
    run_id, output_dir = train_from_config(store, "sft", Path("configs/sft_tiny.yaml"), {},
                                           live=False)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kindling.agents.config import ConfigError
from kindling.context import console
from kindling.outputs import check_claimable, claim_dir, publish_dir, staged_dir
from kindling.store.db import Store
from kindling.store.pairs import iter_pair_texts
from kindling.store.queries import corpus_pairs, import_run_ids, require_import_run


def corpus_texts(store: Store, dataset: str = "sft") -> list[str]:
    """Distinct texts to train a tokenizer on: the SFT dataset's queries and responses (`sft`, the
    paper's; a task of your own imports its own, e.g. `slogans-en-sft`), imported RM pairs."""
    texts: dict[str, None] = {}
    for query, response in corpus_pairs(store, dataset):
        texts.update({query: None, response: None})
    for run_id in import_run_ids(store):
        for prompt, chosen, rejected in iter_pair_texts(store, run_id):
            texts.update({prompt: None, chosen: None, rejected: None})
    return [t for t in texts if t]


def build_tiny_model(texts: list[str], out: Path, **options: Any) -> Path:
    """`rl.tiny_model.init_tiny_model` written beside `out` and moved in once complete (never a
    half-written model folder; the caller has checked `out` with `check_claimable`)."""
    from kindling.rl.tiny_model import init_tiny_model

    with staged_dir(out) as tmp:
        init_tiny_model(texts, tmp, **options)
        publish_dir(tmp, out, "kindling model init")
    return out


def train_from_config(store: Store, kind: str, config: Path | None, overrides: dict[str, Any],
                      *, live: bool, overwrite: bool = False) -> tuple[int, str]:
    """Load a run config, check everything, then train in this process.

    An `rm` run without kindling.pairs_run (YAML or override) takes the latest import run's pairs.
    The output folder must be new, empty, or Kindling's own (then only with `overwrite`); it is
    checked before anything is loaded and claimed (made and marked) just before training.

    Returns:
        (the run id, the output folder).

    Raises:
        UserError: before any training starts (bad config, data, model, ...), or TRL refusing
            the trl: values when the trainer is built (ConfigError).
    """
    from kindling.rl.train_config import load_train_config

    if kind == "rm" and "kindling.pairs_run" not in overrides and not yaml_sets_pairs_run(config):
        overrides = {**overrides, "kindling.pairs_run": latest_pairs_run(store)}
    kcfg, trl_cfg = load_train_config(kind, config, overrides)
    output_dir, main = Path(trl_cfg.output_dir), trl_cfg.process_index == 0
    if main:
        check_claimable(output_dir, overwrite=overwrite, flag="trl.output_dir")
    prepare, train = _trainer(kind)  # only now: a bad config or output folder is named at once
    setup = prepare(store, kcfg, trl_cfg)
    if main:
        claim_dir(output_dir, overwrite=overwrite, command=f"kindling train {kind}",
                  flag="trl.output_dir")
    return train(store, setup, live=live), str(trl_cfg.output_dir)


def _trainer(kind: str) -> tuple[Any, Any]:
    """The run type's prepare and train functions, importing its trainer's module only: each
    takes seconds (torch, transformers; grpo's also the judge's agents), an sft run needs none
    of the others'."""
    if kind == "sft":
        from kindling.rl.sft import prepare_sft, train_sft

        return prepare_sft, train_sft
    if kind == "rm":
        from kindling.rl.reward_model import prepare_rm, train_rm

        return prepare_rm, train_rm
    if kind == "grpo":
        from kindling.rl.grpo import prepare_grpo, train_grpo

        return prepare_grpo, train_grpo
    raise ValueError(f"unknown run type {kind!r}")


def latest_pairs_run(store: Store) -> int:
    latest = require_import_run(store, "kindling.pairs_run")
    console.print(f"pairs from the latest import run, {latest}")
    return latest


def yaml_sets_pairs_run(config: Path | None) -> bool:
    """Whether the YAML file gives kindling.pairs_run (its `rm:` section in a multi-run file)."""
    from kindling.rl.train_config import read_run_yaml

    if config is None:
        return False
    try:
        data, _ = read_run_yaml("rm", config)
    except ConfigError:  # load_train_config reports it with the file's name
        return True
    section = data.get("kindling")
    return isinstance(section, dict) and section.get("pairs_run") is not None
