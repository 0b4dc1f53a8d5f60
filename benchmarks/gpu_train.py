"""SFT, RM and GRPO steps of a 0.5B Qwen2-shaped model on one CUDA GPU: Kindling's settings vs TRL's defaults.

The model is Qwen2.5-0.5B's shape built from config (hidden 896, 24 layers, 14 heads, 2 KV heads,
MLP 4864, vocab 151936, tied embeddings), random weights, bf16, saved once to a temp folder so
every phase starts from the same weights; a small byte-level BPE tokenizer trained here; no hub
(benchmarks/gpu/build.py).

Phases, one after another in one process, peak memory reset between them (benchmarks/gpu/phases.py):
sft, rm, grpo (Kindling's GPU GRPO settings), grpo_trl (GRPOConfig's defaults), grpo_gen128 (128
completions per generation) and grpo_vllm (as grpo, generating with vLLM colocated; recorded as
skipped, with the reason, when vllm is not importable or there is no CUDA device). The table gives,
per phase, step time, tokens/s and peak memory, and per Kindling GRPO phase its ratio of completion
tokens/s to grpo_trl's with the verdict against the target (>= 5x). Beneath it, per phase, the
memory estimator's figure for the same model and setup beside the measured peak, with the relative
error (benchmarks/gpu/estimate.py; "no GPU: not measured" on CPU). The JSON (--out) is rewritten
after every phase, so a timeout keeps what was measured.

TRL and datasets may come as wheels (benchmarks/gpu_wheels.sh downloads them): when `trl` is not
importable, `--wheels DIR` (default: benchmarks/wheels when present) is pip-installed first, offline.
On the device machine, `bash benchmarks/gpu_check.sh` runs this and the paper arms in one call.

    python3 benchmarks/gpu_train.py [--wheels benchmarks/wheels] [--phases sft,rm,grpo,grpo_trl,...]
                                    [--warmup 1] [--steps 3] [--out PATH]
    python3 benchmarks/gpu_train.py --smoke     # CPU, tiny shape, 1 step each (the unit test runs this)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.gpu.build import build_data, build_model_folder, build_tokenizer
from benchmarks.gpu.estimate import card_bytes, train_phase_estimate
from benchmarks.gpu.measure import clear_memory, memory
from benchmarks.gpu.phases import PHASE_FUNCS, Context, PhaseSkipped
from benchmarks.gpu.report import best, fmt, print_table, ratios
from benchmarks.gpu.settings import GIB, GPU, PHASES, SMOKE, TARGET_RATIO, Mode
from benchmarks.gpu.wheels import ensure_trl


def default_out() -> Path:
    """$OUT/gpu_train.json on the device machine, else ./gpu_train.json."""
    return Path(os.environ["OUT"]) / "gpu_train.json" if os.environ.get("OUT") else Path("gpu_train.json")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; --phases becomes a list of known phase names."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="CPU, tiny shape, 8-token completions, 1 step each, fp32")
    p.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps per phase (default: the mode's, 1)")
    p.add_argument("--steps", type=int, default=None, help="timed steps per phase (default: gpu 3, smoke 1)")
    p.add_argument("--out", type=Path, default=None, help="JSON path (default: $OUT/gpu_train.json, else "
                                                          "./gpu_train.json)")
    p.add_argument("--wheels", default=None, help="folder of trl/datasets wheels, installed offline when trl is "
                                                  "missing (default: benchmarks/wheels when present)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    phases = [s.strip() for s in args.phases.split(",") if s.strip()]
    bad = [s for s in phases if s not in PHASES]
    if bad or not phases:
        p.error(f"--phases: unknown {bad}; choose from {','.join(PHASES)}")
    args.phases = phases
    return args


def setup_libraries(mode: Mode) -> None:
    """Quiet transformers and datasets; cap CPU threads in the smoke mode."""
    import datasets
    import torch
    import transformers

    if mode.device == "cpu":
        torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers' renames (gradient_checkpointing)
    datasets.disable_progress_bars()


def environment(mode: Mode) -> dict[str, Any]:
    """Versions and the device's name, for the report."""
    import datasets
    import torch
    import transformers
    import trl

    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "trl": trl.__version__,
            "datasets": datasets.__version__,
            "device": torch.cuda.get_device_name() if mode.device == "cuda" else platform.processor() or "cpu"}


def run_phase(ctx: Context, name: str) -> dict[str, Any]:
    """One phase, its memory and wall time; an error or a skip is recorded, never raised."""
    import torch

    mode = ctx.mode
    clear_memory(mode.device)
    start_gib = torch.cuda.memory_allocated() / GIB if mode.device == "cuda" else None
    print(f"\n== {name} ==", flush=True)
    t0 = time.perf_counter()
    try:
        res = PHASE_FUNCS[name](ctx)
    except PhaseSkipped as exc:
        print(f"{name}: skipped: {exc}", flush=True)
        return {"skipped": str(exc)}
    except Exception as exc:  # noqa: BLE001 - one failed phase must not lose the others
        traceback.print_exc()
        res = {"error": f"{type(exc).__name__}: {exc}"}
    res.update(memory(mode), start_gib=start_gib)
    res["phase_wall_s"] = time.perf_counter() - t0
    if "error" not in res:
        print(f"{name}: step {res['step_s']:.3f} s, {res['tokens_per_s']:.1f} {res['kind']}, "
              f"peak {fmt(res['peak_gib'], '.2f')} GiB, phase {res['phase_wall_s']:.1f} s", flush=True)
    clear_memory(mode.device)
    return res


def prompt_tokens(tokenizer: Any, prompts: list[str]) -> int:
    """The longest prompt as GRPO feeds it (chat template, generation prompt), in tokens."""
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                           tokenize=False) for p in prompts]
    return max(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)


def with_estimate(res: dict[str, Any], mode: Mode, name: str, est: dict[str, Any]) -> dict[str, Any]:
    """The phase's result with the memory estimator's figure beside its measured peak (none for a
    skipped phase); an estimator failure is recorded, never raised."""
    if "skipped" in res:
        return res
    try:
        res["memory_estimate"] = train_phase_estimate(mode, name, res, **est)
    except Exception as exc:  # noqa: BLE001 - the measurement matters more than the estimate
        res["memory_estimate"] = {"label": name, "error": f"{type(exc).__name__}: {exc}"}
    return res


def main(argv: list[str] | None = None) -> int:
    """Run the phases; write the JSON after each; print the table.

    Returns:
        0, or 1 when a phase failed (a skipped phase is not a failure).
    """
    args = parse_args(argv)
    t_start = time.perf_counter()
    ensure_trl(args.wheels)
    import torch

    mode = SMOKE if args.smoke else GPU
    mode = replace(mode, warmup=args.warmup if args.warmup is not None else mode.warmup,
                   steps=args.steps if args.steps is not None else mode.steps)
    if mode.warmup < 1 or mode.steps < 1:
        sys.exit("--warmup and --steps must be >= 1")
    if mode.device == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device: run on a GPU, or use --smoke for the CPU smoke run")
    setup_libraries(mode)
    out_path = args.out or default_out()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"mode": asdict(mode), "env": environment(mode), "phases": {}, "ratios": {},
                              "ratio": None, "best": None, "target_ratio": TARGET_RATIO}
    env = report["env"]
    print(f"gpu_train: mode {mode.name} on {env['device']}; torch {env['torch']}, transformers "
          f"{env['transformers']}, trl {env['trl']}; phases {','.join(args.phases)}; warmup {mode.warmup}, "
          f"steps {mode.steps}", flush=True)

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="kindling-gpu-train-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        tokenizer = build_tokenizer(mode, rng)
        data = build_data(mode, tokenizer, rng)
        params = build_model_folder(mode, tokenizer, work / "model", args.seed)
        report["model"] = {"parameters": params, "tokenizer_size": len(tokenizer), "dtype": mode.dtype,
                           **asdict(mode.shape)}
        print(f"setup {time.perf_counter() - t0:.1f} s: {params / 1e6:.1f}M parameters, tokenizer "
              f"{len(tokenizer)} tokens, {len(data.prompts)} prompts", flush=True)
        ctx = Context(mode=mode, tokenizer=tokenizer, data=data, model_dir=work / "model", work=work,
                      warmup=mode.warmup, steps=mode.steps, seed=args.seed)
        from transformers import AutoConfig

        est = {"config": AutoConfig.from_pretrained(work / "model"), "device_bytes": card_bytes(mode.device),
               "prompt_tokens": prompt_tokens(tokenizer, data.prompts)}
        for name in args.phases:
            report["phases"][name] = with_estimate(run_phase(ctx, name), mode, name, est)
            report["ratios"] = ratios(report["phases"])
            report["ratio"] = report["ratios"].get("grpo", {}).get("tokens_per_s_ratio")
            report["best"] = best(report["ratios"])
            report["wall_s"] = time.perf_counter() - t_start
            out_path.write_text(json.dumps(report, indent=2, default=str))

    print_table(report)
    print(f"\nwrote {out_path} ({report['wall_s']:.1f} s in all)", flush=True)
    return 1 if any("error" in r for r in report["phases"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
