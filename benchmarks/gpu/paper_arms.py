"""benchmarks/gpu_paper_arms.py's parts: scales, the policy, the overrides, measuring a run, the table.

Unlike the rest of benchmarks/gpu/, this uses Kindling itself (store, rl, kindling.services), so
the device machine needs Kindling's dependencies as carried wheels (benchmarks/gpu_wheels.sh).
"""

from __future__ import annotations

import importlib.util
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.gpu.estimate import card_bytes, compare, run_estimate
from benchmarks.gpu.measure import clear_memory
from benchmarks.gpu.report import fmt, memory_lines
from benchmarks.gpu.settings import GIB

ARMS = {"rm": "configs/paper.yaml", "judge": "configs/paper_grpo_judge.yaml"}
"""GRPO arm -> its config (each read at its `grpo:` section)."""


@dataclass(frozen=True)
class Scale:
    """How small the run is; every other setting is the config's."""

    name: str
    device: str
    shape: dict[str, int]  # rl.tiny_model.tiny_qwen2_config's keyword arguments
    vocab_size: int  # the corpus tokenizer's target size
    bf16: bool  # save the policy in bf16 (as a hub Qwen2.5 loads); False: fp32, trl.bf16 false
    grpo_steps: int
    rm_steps: int
    prompt_limit: int  # kindling.limit of the GRPO arms
    pair_limit: int  # kindling.limit of the reward model
    completion_tokens: int | None = None  # None: the config's max_completion_length
    cpu_sets: dict[str, Any] = field(default_factory=dict)

    def with_steps(self, grpo_steps: int | None, rm_steps: int | None) -> Scale:
        """This scale with other step counts (None: keep)."""
        return replace(self, grpo_steps=grpo_steps or self.grpo_steps, rm_steps=rm_steps or self.rm_steps)


GPU_SCALE = Scale(
    name="gpu", device="cuda",
    shape=dict(hidden_size=896, layers=24, heads=14, kv_heads=2, intermediate=4864, max_position=2048),
    vocab_size=16000, bf16=True, grpo_steps=4, rm_steps=2, prompt_limit=256, pair_limit=64,
)
"""Qwen2.5-0.5B's shape except the vocabulary; 4 GRPO steps = 2 generations (steps_per_generation 2)."""

SMOKE_SCALE = Scale(
    name="smoke", device="cpu",
    shape=dict(hidden_size=64, layers=2, heads=4, kv_heads=2, intermediate=128, max_position=1024),
    vocab_size=2000, bf16=False, grpo_steps=2, rm_steps=1, prompt_limit=32, pair_limit=16,
    completion_tokens=16, cpu_sets={"trl.bf16": False, "trl.use_cpu": True},
)
"""A tiny fp32 policy on CPU, 16-token completions (the unit test runs it)."""


def vllm_usable(scale: Scale) -> bool:
    """Whether the configs' use_vllm can stay on: vllm importable and a CUDA device."""
    return scale.device == "cuda" and importlib.util.find_spec("vllm") is not None


def vllm_note(scale: Scale) -> str:
    """How the arms generate, and why."""
    if vllm_usable(scale):
        return "vllm colocate (the configs' use_vllm)"
    why = "CPU" if scale.device != "cuda" else "vllm is not importable here"
    return f"transformers generate: trl.use_vllm set false ({why})"


def build_policy(scale: Scale, texts: list[str], out: Path) -> tuple[Path, int]:
    """The policy, by `kindling model init`'s service (corpus tokenizer, Qwen2 from config).

    Args:
        scale: Shape, vocabulary and dtype.
        texts: The corpus the tokenizer is trained on.
        out: The folder to write (must not exist).

    Returns:
        (the folder, the number of parameters).
    """
    import torch
    from transformers import AutoModelForCausalLM

    from kindling.services.training import build_tiny_model

    build_tiny_model(texts, out, vocab_size=scale.vocab_size, seed=0, **scale.shape)
    model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.bfloat16 if scale.bf16 else torch.float32)
    if scale.bf16:
        model.save_pretrained(out)
    params = sum(p.numel() for p in model.parameters())
    del model
    return out, params


def common_sets(scale: Scale, output_dir: Path, steps: int, limit: int) -> dict[str, Any]:
    """Overrides every small run needs: folders, steps, limit, no checkpoints, no progress bars."""
    sets: dict[str, Any] = {"kindling.limit": limit, "trl.output_dir": str(output_dir), "trl.max_steps": steps,
                            "trl.save_strategy": "no", "trl.disable_tqdm": True}
    if scale.device == "cpu":
        sets.update(scale.cpu_sets)
    return sets


def rm_overrides(scale: Scale, policy: Path, out: Path) -> dict[str, Any]:
    """paper.yaml's `rm:` section on the policy, for scale.rm_steps steps."""
    return {"kindling.model": str(policy), **common_sets(scale, out, scale.rm_steps, scale.pair_limit)}


def judge_key_env(config: Path, given: str | None) -> str:
    """The variable holding the judge's key: `given`, else the config's judge.llm.api_key_env."""
    if given:
        return given
    from kindling.rl.train_config import read_run_yaml

    data, _ = read_run_yaml("grpo", config)
    return str(data["kindling"]["judge"]["llm"].get("api_key_env") or "OPENAI_API_KEY")


def arm_overrides(scale: Scale, args: Any, arm: str, policy: Path, rm_dir: Path, out: Path) -> dict[str, Any]:
    """One GRPO arm's overrides: the policy, its reward's ingredients, the small run, --set last.

    The judge arm's key variable is set to 'unused' when empty (a server without auth).
    """
    import os

    sets = {"kindling.model": str(policy), **common_sets(scale, out, scale.grpo_steps, scale.prompt_limit)}
    if not vllm_usable(scale):
        sets["trl.use_vllm"] = False
    if scale.completion_tokens is not None:
        sets["trl.max_completion_length"] = scale.completion_tokens
    if arm == "rm":
        sets["kindling.rm_model"] = str(rm_dir)
    if arm == "judge":
        sets["kindling.judge.llm.base_url"] = args.judge_base_url
        if args.judge_model:
            sets["kindling.judge.llm.model"] = args.judge_model
        env = judge_key_env(Path(__file__).resolve().parents[2] / ARMS["judge"], args.judge_api_key_env)
        sets["kindling.judge.llm.api_key_env"] = env
        if not os.environ.get(env):
            print(f"judge: {env} is empty; set to 'unused' (a server without auth)", flush=True)
            os.environ[env] = "unused"
    sets.update(args.sets)
    return sets


def step_figures(metrics: dict[str, Any], trl_config: dict[str, Any]) -> dict[str, Any]:
    """Step times and completion tokens/s from a run's stored per-step metrics.

    GRPO logs TRL's step_time every step and the completions' mean length on the steps that
    generate (one in steps_per_generation); the first generation cycle is left out of the figures
    when at least two ran.

    Args:
        metrics: The run row's metrics ({"steps": [...], "final": {...}}).
        trl_config: The run row's TRL config (generation_batch_size, steps_per_generation).

    Returns:
        step_s_each, step_s, and for GRPO completion_tokens_per_s and mean_completion_tokens;
        train_runtime_s (TRL's, the whole train() call).
    """
    final = metrics.get("final") or {}
    out: dict[str, Any] = {"train_runtime_s": final.get("train_runtime")}
    steps = [e for e in metrics.get("steps", []) if isinstance(e.get("step_time"), int | float)]
    if not steps:
        n = max((e.get("step", 0) for e in metrics.get("steps", [])), default=0)
        if n and out["train_runtime_s"]:
            out.update(step_s=out["train_runtime_s"] / n, steps=n)
        return out
    spg = int(trl_config.get("steps_per_generation") or 1)
    timed = steps[spg:] if len(steps) >= 2 * spg else steps
    seconds = sum(e["step_time"] for e in timed)
    lengths = [e["completions/mean_length"] for e in timed if isinstance(e.get("completions/mean_length"), int | float)]
    tokens = sum(lengths) * int(trl_config.get("generation_batch_size") or 0)
    out.update(steps=len(steps), timed_steps=len(timed), step_s_each=[round(e["step_time"], 4) for e in steps],
               step_s=seconds / len(timed), mean_completion_tokens=sum(lengths) / len(lengths) if lengths else None,
               completion_tokens_per_s=tokens / seconds if seconds and tokens else None,
               reward=[e.get("reward") for e in steps if "reward" in e])
    failed = [e["judge/failed"] for e in steps if isinstance(e.get("judge/failed"), int | float)]
    if failed:
        out["judge_failed"] = sum(failed)
    return out


def arm_estimate(kind: str, name: str, config: Path, overrides: dict[str, Any], measured: dict[str, Any],
                 scale: Scale) -> dict[str, Any]:
    """The memory estimator's figure for the run's loaded config, beside its measured peak; an
    estimator failure is recorded, never raised."""
    try:
        from kindling.rl.train_config import load_train_config
        from transformers import AutoConfig

        sets = {"kindling.pairs_run": 1, **overrides} if kind == "rm" else overrides  # pairs: no memory
        kcfg, trl_cfg = load_train_config(kind, config, sets)
        entry = run_estimate(kind, name, kcfg.model_dump(mode="json"), trl_cfg.to_dict(),
                             AutoConfig.from_pretrained(overrides["kindling.model"]), card_bytes(scale.device))
        return compare(entry, measured, failed="error" in measured)
    except Exception as exc:  # noqa: BLE001 - the measurement matters more than the estimate
        return {"label": name, "error": f"{type(exc).__name__}: {exc}"}


def train_measured(store: Any, kind: str, config: Path, overrides: dict[str, Any], scale: Scale,
                   name: str | None = None) -> dict[str, Any]:
    """`train_from_config` (what `kindling train <kind>` calls), timed, its peak memory and figures,
    and the memory estimator's figure for the same config (`memory_estimate`).

    Args:
        name: What the memory comparison calls it (default: kind).

    Returns:
        The run's id, status, wall time, peak memory, `step_figures` and `memory_estimate`; or
        {"error": ...} with the peak up to the failure and the estimate.
    """
    from kindling.store.reports import get_run

    from kindling.services.training import train_from_config

    clear_memory(scale.device)
    print(f"\n== {kind} {config.name} ==\n    overrides: {overrides}", flush=True)
    t0 = time.perf_counter()
    try:
        run_id, _ = train_from_config(store, kind, config, overrides, live=False)
    except Exception as exc:  # noqa: BLE001 - one failed part must not lose the others
        traceback.print_exc()
        failed = {"error": f"{type(exc).__name__}: {exc}", "wall_s": time.perf_counter() - t0,
                  "overrides": overrides, **peaks(scale)}
        failed["memory_estimate"] = arm_estimate(kind, name or kind, config, overrides, failed, scale)
        clear_memory(scale.device)
        return failed
    wall = time.perf_counter() - t0
    res: dict[str, Any] = {"wall_s": wall, "overrides": overrides, **peaks(scale)}
    res["memory_estimate"] = arm_estimate(kind, name or kind, config, overrides, res, scale)
    run = get_run(store, run_id)
    assert run is not None
    res.update(run_id=run_id, status=run.status, **step_figures(run.metrics or {}, (run.config or {}).get("trl", {})))
    clear_memory(scale.device)
    print(f"{kind}: run {run_id} {run.status}, step {fmt(res.get('step_s'), '.3f')} s, peak "
          f"{fmt(res['peak_gib'], '.2f')} GiB, {wall:.1f} s with loading", flush=True)
    return res


def peaks(scale: Scale) -> dict[str, float | None]:
    """Peak allocated and reserved GPU memory since the last reset, in GiB (None off CUDA)."""
    import torch

    cuda = scale.device == "cuda"
    return {"peak_gib": torch.cuda.max_memory_allocated() / GIB if cuda else None,
            "peak_reserved_gib": torch.cuda.max_memory_reserved() / GIB if cuda else None}


def table_lines(report: dict[str, Any]) -> list[str]:
    """One row per part (the reward model's training, each GRPO arm)."""
    lines = [f"{'part':<12} {'status':<9} {'steps':>5} {'step s':>8} {'compl tok/s':>11} {'mean len':>8} "
             f"{'peak GiB':>8} {'wall s':>7}"]
    parts = {"rm_train": report.get("rm_train")} | {f"grpo {k}": v for k, v in report["arms"].items()}
    for name, r in parts.items():
        if r is None:
            continue
        if "skipped" in r or "error" in r:
            word = "skipped" if "skipped" in r else "ERROR"
            lines.append(f"{name:<12} {word}: {(r.get('skipped') or r['error']).splitlines()[0][:100]}")
            continue
        lines.append(f"{name:<12} {r['status']:<9} {fmt(r.get('steps'), '>5d')} {fmt(r.get('step_s'), '>8.3f')} "
                     f"{fmt(r.get('completion_tokens_per_s'), '>11.1f')} {fmt(r.get('mean_completion_tokens'), '>8.1f')} "
                     f"{fmt(r.get('peak_gib'), '>8.2f')} {r['wall_s']:>7.1f}")
    lines.append(f"generation: {report['generation']}; step s: TRL's step_time, the first generation cycle "
                 "left out when two ran; wall s: with loading and saving")
    if "error" in report:
        lines.append(f"ERROR: {report['error']}")
    return lines + memory_lines(parts)


def print_table(report: dict[str, Any]) -> None:
    """Print `table_lines(report)`."""
    print("\n" + "\n".join(table_lines(report)), flush=True)
