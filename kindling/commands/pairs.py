"""`kindling pairs build|export`: preference pairs from verdicts, exported for TRL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import typer

from kindling.context import console, fail
from kindling.options import parse_run
from kindling.outputs import check_output_dir, publish_dir, staged_dir

EXPORT_NAMES = ("pairs.jsonl", "dataset")

app = typer.Typer(help="Build preference pairs from a curate run and export them.",
                  no_args_is_help=True)


def parse_per_query(text: str) -> str:
    """`--per-query`: a positive integer or `all`."""
    value = text.strip().lower()
    if value != "all" and not (value.isdigit() and int(value) >= 1):
        raise typer.BadParameter(f"{text!r}: expected a number of pairs (1, 2, ...) or all")
    return value


@app.command("build")
def build(
    ctx: typer.Context,
    run: int = typer.Option(..., "--run", parser=parse_run, metavar="RUN", help="The curate run whose verdicts to pair."),
    per_query: str = typer.Option("1", "--per-query", "--max-per-query", parser=parse_per_query, metavar="N|all", help="Pairs per query: 1 (as the paper's RM data: one pair per query), at most N, or all (every judged-good × judged-bad, Kindling's earlier default)."),
) -> None:
    """Pair judged-good with judged-bad candidates of the same query (a new `pairs` run)."""
    from kindling.services.pairs import build_pairs

    built = build_pairs(ctx.obj.open_store(), run, None if per_query == "all" else int(per_query))
    console.print(f"pairs run {built.run_id}: {built.pairs} pairs from {built.judged} judged "
                  f"candidates of curate run {run}")


@app.command("export")
def export(
    ctx: typer.Context,
    run: int = typer.Option(..., "--run", parser=parse_run, metavar="RUN", help="A pairs run (or an import run, for the paper's RM pairs)."),
    out: Path = typer.Option(..., "--out", help="Output folder: pairs.jsonl and a datasets folder `dataset/`."),
    fmt: Literal["trl"] = typer.Option("trl", "--format", help="trl: prompt/chosen/rejected columns, as TRL's RewardTrainer reads them."),
    conversational: bool = typer.Option(False, help="Write chat messages ([{role, content}]) instead of plain strings."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Write into a non-empty folder, replacing only the pairs.jsonl and dataset/ an earlier export wrote there."),
) -> None:
    """Write (prompt, chosen, rejected) rows as JSONL and as a Hugging Face `datasets` folder.

    The folder may be new or empty; a non-empty one needs --overwrite, and even then only
    Kindling's own pairs.jsonl and dataset/ in it are replaced (written beside it, then moved in).
    """
    from kindling.store import pairs as pair_store
    from kindling.store.refs import no_run_message

    check_output_dir(out, EXPORT_NAMES, overwrite=overwrite)
    store = ctx.obj.open_store(writes=False)
    kind = pair_store.run_kind(store, run)
    if kind not in {"pairs", "import"}:
        fail(no_run_message(store, run) if kind is None else f"run {run} is a {kind!r} run, "
             "not a pairs or import run")
    rows = [_row(p, c, r, conversational) for p, c, r in pair_store.iter_pair_texts(store, run)]
    if not rows:
        fail(f"run {run} has no preference pairs")
    write_export(rows, out)
    console.print(f"{len(rows)} pairs → {out / 'pairs.jsonl'} and {out / 'dataset'}")


def _row(prompt: str, chosen: str, rejected: str, conversational: bool) -> dict:
    if not conversational:
        return {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    return {"prompt": [{"role": "user", "content": prompt}],
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


def write_export(rows: list[dict], out: Path) -> None:
    """Write both forms into a folder beside `out`, then move them in (never half-written;
    `check_output_dir` has checked that only Kindling's own entries get replaced)."""
    from datasets import Dataset

    with staged_dir(out) as tmp:
        with (tmp / "pairs.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        Dataset.from_list(rows).save_to_disk(str(tmp / "dataset"))
        publish_dir(tmp, out, "kindling pairs export")
