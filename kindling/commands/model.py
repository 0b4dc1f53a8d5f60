"""`kindling model ...`: build or inspect policy models (a tiny Qwen2-shaped model for CPU)."""

from __future__ import annotations

from pathlib import Path

import typer

from kindling.context import console, fail
from kindling.outputs import check_claimable

app = typer.Typer(help="Build or inspect policy models.", no_args_is_help=True)


@app.command("init")
def init(
    ctx: typer.Context,
    tiny: bool = typer.Option(False, "--tiny", help="Build a tiny Qwen2-shaped model from config (for CPU)."),
    out: Path = typer.Option(Path("models/tiny"), "--out", help="Folder to write the model and tokenizer to."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Write over a model folder an earlier `model init` made (a folder Kindling did not make is always refused)."),
    vocab_size: int = typer.Option(4000, "--vocab-size", help="Tokenizer vocabulary size (BPE trained on the corpus)."),
    hidden: int = typer.Option(256, "--hidden", help="Hidden size."),
    layers: int = typer.Option(4, "--layers", help="Decoder layers."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random initialisation."),
    dataset: str = typer.Option("sft", "--dataset", help="The SFT dataset whose texts (with any imported preference pairs) train the tokenizer: the paper's is `sft`; your task's is the name you imported it under."),
) -> None:
    """Train a tokenizer on the store's corpus and save a randomly initialised tiny model."""
    from kindling.services.training import build_tiny_model, corpus_texts

    if not tiny:
        fail("only --tiny is supported (pass a hub id or folder to the trainers for other models)")
    if vocab_size < 300:
        fail(f"--vocab-size {vocab_size}: must be at least 300 (bytes and special tokens)")
    check_claimable(out, overwrite=overwrite)
    store = ctx.obj.open_store(writes=False)
    texts = corpus_texts(store, dataset)
    if not texts:
        fail(f"the store has no corpus (no texts in dataset {dataset!r}, no preference pairs): "
             "import an SFT dataset first (kindling data import), or name yours with --dataset")
    from kindling.rl.policy_loading import describe_model

    folder = build_tiny_model(texts, out, vocab_size=vocab_size, seed=seed, hidden_size=hidden,
                              layers=layers)
    info = describe_model(folder)
    console.print(f"tiny Qwen2 model: {info['parameters']:,} parameters, vocab {info['vocab']}, "
                  f"hidden {info['hidden_size']}, {info['layers']} layers "
                  f"(tokenizer trained on {len(texts)} texts)")
    console.print(f"model and tokenizer → {folder}")


@app.command("info")
def info(
    path: str = typer.Argument(..., help="A local model folder or a hub id."),
) -> None:
    """Show a model's parameter count, vocabulary and shape (weights are not loaded)."""
    from kindling.rl.policy_loading import describe_model

    details = describe_model(path)
    console.print(f"{path}: {details['parameters']:,} parameters")
    for key, value in details.items():
        if key != "parameters":
            console.print(f"  {key}: {value}")
