"""`kindling endpoint check`: what an OpenAI-compatible endpoint takes, before a long run."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
import yaml
from rich.table import Table

from kindling.context import console, fail
from kindling.options import TASK_OPTION

if TYPE_CHECKING:
    from kindling.agents.llm.config import LLMConfig

app = typer.Typer(help="Check an OpenAI-compatible endpoint before spending a run on it.",
                  no_args_is_help=True)


@app.command("check")
def check(
    ctx: typer.Context,
    base_url: str = typer.Option(..., "--base-url", help="The endpoint, e.g. https://api.deepseek.com/v1 or http://127.0.0.1:8000/v1."),
    model: str = typer.Option(..., "--model", help="The model name at the endpoint."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the API key (any non-empty value for servers without auth)."),
    samples: int = typer.Option(3, "--samples", min=1, max=20, help="Sequential requests whose latency is measured."),
    max_in_flight: int = typer.Option(16, "--max-in-flight", min=1, max=256, help="Most requests at once when looking for the 429 point (levels 1, 2, 4, ...; stops at the first 429)."),
    max_tokens: int = typer.Option(256, "--max-tokens", min=16, help="Budget of each probe's answer."),
    task: str = TASK_OPTION,
) -> None:
    """List the models, try each structured-output mode on the Detector prompt, measure latency
    and the concurrency where the endpoint starts answering 429; print a config snippet. The
    probes are stored as an `endpoint` run (about 5 + samples + 2 × max-in-flight requests)."""
    from kindling.agents.config import load_config
    from kindling.agents.llm.config import LLMConfig
    from kindling.agents.llm.keys import require_api_key
    from kindling.agents.task import resolve_task
    from kindling.services.endpoint_check import run_endpoint_check

    cfg = load_config(LLMConfig, None, {"backend": "openai", "base_url": base_url,
                                        "model": model, "api_key_env": api_key_env,
                                        "max_tokens": max_tokens, "temperature": 0.0,
                                        "max_concurrency": max_in_flight})
    key = require_api_key(cfg.api_key_env, "--api-key-env")
    run_id, report = run_endpoint_check(ctx.obj.open_store(), cfg, key, samples=samples,
                                        max_in_flight=max_in_flight,
                                        task=resolve_task(task) if task else None)
    print_report(run_id, cfg, report)
    if report.best_mode is None:
        fail(f"{base_url} (model {model}) answered no structured-output mode; see the table "
             "above for each one's error", code=1)


def print_report(run_id: int, cfg: LLMConfig, report: object) -> None:
    """Models, modes, latencies, the concurrency ramp, and the config to paste."""
    from kindling.agents.llm.endpoint_check import CheckReport

    assert isinstance(report, CheckReport)
    models = ", ".join(report.models) if report.models is not None else \
        f"(not listed: {report.models_error})"
    console.print(f"[bold]endpoint check, run {run_id}[/]: {cfg.base_url}, model {cfg.model}",
                  highlight=False)
    console.print(f"models the server lists: {models}", highlight=False, markup=False)
    modes = Table(title="structured-output modes (the Detector prompt)")
    for col in ("mode", "works", "latency ms", "error"):
        modes.add_column(col, overflow="fold")
    for m in report.modes:
        modes.add_row(m.mode, "yes" if m.ok else "no",
                      "-" if m.latency_ms is None else f"{m.latency_ms:.0f}", m.error or "")
    console.print(modes)
    if report.latencies_ms:
        console.print(f"latency in {report.best_mode}: "
                      + ", ".join(f"{v:.0f}" for v in report.latencies_ms) + " ms", highlight=False)
    ramp = Table(title="requests at once (stops at the first 429)")
    for col in ("in flight", "answered", "429", "median ms"):
        ramp.add_column(col, justify="right")
    for level in report.concurrency:
        ramp.add_row(str(level["in_flight"]), str(level["ok"]),
                     "yes" if level["rate_limited"] else "no",
                     "-" if level["median_ms"] is None else f"{level['median_ms']:.0f}")
    if report.concurrency:
        console.print(ramp)
    if report.best_mode is not None:
        snippet = {"llm": {"backend": "openai", "base_url": cfg.base_url, "model": cfg.model,
                              "api_key_env": cfg.api_key_env,
                              "structured_output": report.best_mode,
                              "max_concurrency": report.safe_concurrency or 1}}
        console.print("config to paste into any run config (as llm:, or as generator: or "
                      "optimizer: for one role):", highlight=False, soft_wrap=True)
        console.print(yaml.safe_dump(snippet, sort_keys=False).rstrip(), markup=False,
                      highlight=False)
