"""`kindling endpoint check`: what an OpenAI-compatible endpoint takes, before a long run."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
import yaml
from rich.table import Table

from kindling.config_flags import ConfigFlagCommand, config_flags, config_overrides, flag
from kindling.context import console, fail
from kindling.options import TASK_OPTION

if TYPE_CHECKING:
    from kindling.agents.llm.config import LLMConfig

app = typer.Typer(help="Check an OpenAI-compatible endpoint before spending a run on it.",
                  no_args_is_help=True)


ENDPOINT_FLAGS = ("base_url", "model", "api_key_env", flag("max_tokens", min=16))
"""LLMConfig's fields the check takes as flags (--base-url and --model are required)."""
PROBE_MAX_TOKENS = 256
"""Each probe's answer budget unless --max-tokens says (a Detector verdict fits well within)."""


@config_flags("kindling.agents.llm.config:LLMConfig", ENDPOINT_FLAGS, before="samples")
def check(
    ctx: typer.Context,
    samples: int = typer.Option(3, "--samples", min=1, max=20, help="Sequential requests whose latency is measured."),
    max_in_flight: int = typer.Option(16, "--max-in-flight", min=1, max=256, help="Most requests at once when looking for the 429 point (levels 1, 2, 4, ...; stops at the first 429)."),
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

    given = config_overrides(ctx)
    missing = [f"--{k.replace('_', '-')}" for k in ("base_url", "model") if k not in given]
    if missing:
        fail(f"endpoint check needs {' and '.join(missing)}: the endpoint and its model")
    cfg = load_config(LLMConfig, None, {"max_tokens": PROBE_MAX_TOKENS, **given,
                                        "backend": "openai", "temperature": 0.0,
                                        "max_concurrency": max_in_flight})
    key = require_api_key(cfg.api_key_env, "--api-key-env")
    run_id, report = run_endpoint_check(ctx.obj.open_store(), cfg, key, samples=samples,
                                        max_in_flight=max_in_flight,
                                        task=resolve_task(task) if task else None)
    print_report(run_id, cfg, report)
    if report.best_mode is None:
        fail(f"{cfg.base_url} (model {cfg.model}) answered no structured-output mode; see the "
             "table above for each one's error", code=1)


app.command("check", cls=ConfigFlagCommand)(check)


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
