"""A few GRPO steps of configs/paper.yaml's arms at small scale, through Kindling's own code path.

On a store made here (SQLite in a temp folder): the paper's data imported from --data
(`ingest.imports.import_paper_data`), a policy built from config by `kindling model init`'s
service (GPU: Qwen2.5-0.5B's shape with the corpus tokenizer's vocabulary, saved in bf16 as a hub
Qwen2.5 would load; --smoke: a tiny fp32 one on CPU), the RM arm's reward model trained for a step
or two by `paper.yaml`'s `rm:` section (LoRA on that policy), then each GRPO arm by
`kindling.services.training.train_from_config` (what `kindling train grpo` calls):

    rm       configs/paper.yaml's grpo section (reward: the reward model)
    judge    configs/paper_grpo_judge.yaml (reward: the principle-guided judge); it needs an
             OpenAI-compatible endpoint: --judge-base-url, else recorded as skipped

Only what a small run must change is overridden: the model folders, output folders, max_steps,
kindling.limit (prompts / pairs), save_strategy no, disable_tqdm; use_vllm false when vllm is not
importable (the reason is recorded); in --smoke also bf16 false, use_cpu true and a short
max_completion_length. Every other field is the config's. Per arm: step times (TRL's step_time
from the run's stored metrics), completion tokens/s (mean completion length x completions per
generation over the step times), peak GPU memory beside the memory estimator's figure for the
loaded config (benchmarks/gpu/estimate.py), wall time with loading. On one GPU a step is
a quarter of the paper's update (its per-device sizes assume 4 GPUs).

    python3 benchmarks/gpu_paper_arms.py --data benchmarks/wheels/paper_data [--steps 4] [--out PATH]
                                         [--judge-base-url URL --judge-model NAME] [--set trl.KEY=VALUE]
    python3 benchmarks/gpu_paper_arms.py --smoke --data ../shared/data/igniting   # CPU, tiny, the unit test
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.gpu.paper_arms import (
    ARMS,
    GPU_SCALE,
    SMOKE_SCALE,
    Scale,
    arm_overrides,
    build_policy,
    print_table,
    rm_overrides,
    train_measured,
    vllm_note,
)

DEFAULT_DATA = ROOT / "benchmarks" / "wheels" / "paper_data"


def default_out() -> Path:
    """$OUT/gpu_paper_arms.json on the device machine, else ./gpu_paper_arms.json."""
    out = os.environ.get("OUT")
    return Path(out) / "gpu_paper_arms.json" if out else Path("gpu_paper_arms.json")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; --set pairs become a dict."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                   help=f"the paper's data folder (default {DEFAULT_DATA.relative_to(ROOT)})")
    p.add_argument("--smoke", action="store_true", help="CPU, tiny model, short completions")
    p.add_argument("--steps", type=int, default=None, help="GRPO steps per arm (default: gpu 4, smoke 2)")
    p.add_argument("--rm-steps", type=int, default=None, help="reward-model steps (default: gpu 2, smoke 1)")
    p.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated subset of {','.join(ARMS)}")
    p.add_argument("--judge-base-url", default=None, help="OpenAI-compatible endpoint for the judge arm")
    p.add_argument("--judge-model", default=None, help="the judge's model name (default: the config's)")
    p.add_argument("--judge-api-key-env", default=None,
                   help="variable holding the judge's key (default: the config's); set to 'unused' here "
                        "when empty (a server without auth)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="another override for both arms, e.g. trl.gradient_accumulation_steps=4")
    p.add_argument("--out", type=Path, default=None, help="JSON path (default: $OUT/gpu_paper_arms.json, "
                                                          "else ./gpu_paper_arms.json)")
    args = p.parse_args(argv)
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    if not arms or any(a not in ARMS for a in arms):
        p.error(f"--arms: choose from {','.join(ARMS)}")
    args.arms = arms
    bad = [s for s in args.sets if "=" not in s or not s.startswith(("trl.", "kindling."))]
    if bad:
        p.error(f"--set {bad[0]}: expected trl.KEY=VALUE or kindling.KEY=VALUE")
    args.sets = dict(s.split("=", 1) for s in args.sets)
    if not args.data.is_dir():
        p.error(f"--data {args.data}: not a folder (make a subset: python3 -m benchmarks.gpu.paper_subset "
                "../shared/data/igniting benchmarks/wheels/paper_data)")
    return args


def check_machine(scale: Scale) -> str | None:
    """Why the run cannot start here (Kindling not importable, no CUDA device), or None."""
    try:
        for module in ("kindling.services.training", "kindling.rl.grpo", "kindling.rl.reward_model", "kindling.ingest.imports"):
            importlib.import_module(module)
    except ImportError as exc:
        return (f"Kindling cannot be imported: {exc} (carry the wheels benchmarks/gpu_wheels.sh downloads "
                "and put them on PYTHONPATH, as benchmarks/gpu_check.sh does)")
    import torch

    if scale.device == "cuda" and not torch.cuda.is_available():
        return "no CUDA device: run on a GPU, or use --smoke for the CPU smoke run"
    return None


def run(args: argparse.Namespace, scale: Scale, work: Path, report: dict[str, Any],
        save: Any) -> None:
    """Import, build the policy, train the RM (for the rm arm), run each arm; `save()` after each part."""
    from kindling.ingest.imports import import_paper_data
    from kindling.store.db import Store

    from kindling.services.training import corpus_texts

    store = Store(f"sqlite:///{work / 'kindling.db'}")
    t0 = time.perf_counter()
    imported = import_paper_data(store, args.data, code_version="gpu_paper_arms")
    report["import"] = {"rows": imported.rows, "seconds": time.perf_counter() - t0}
    t0 = time.perf_counter()
    policy, params = build_policy(scale, corpus_texts(store), work / "policy")
    report["policy"] = {"parameters": params, "seconds": time.perf_counter() - t0, "shape": scale.shape,
                        "dtype": "bfloat16" if scale.bf16 else "float32"}
    print(f"imported {sum(imported.rows.values())} rows; policy {params / 1e6:.1f}M parameters", flush=True)
    save()
    configs = {name: ROOT / rel for name, rel in {"paper": "configs/paper.yaml", **ARMS}.items()}
    rm_dir = work / "rm"
    if "rm" in args.arms:
        report["rm_train"] = train_measured(store, "rm", configs["paper"],
                                            rm_overrides(scale, policy, rm_dir), scale,
                                            name="rm_train")
        save()
    for arm in args.arms:
        if arm == "judge" and not args.judge_base_url:
            report["arms"][arm] = {"skipped": "no judge endpoint (the device reaches no network): "
                                              "pass --judge-base-url"}
        elif arm == "rm" and "error" in report["rm_train"]:
            report["arms"][arm] = {"skipped": "the reward model did not train (rm_train's error)"}
        else:
            overrides = arm_overrides(scale, args, arm, policy, rm_dir, work / f"grpo_{arm}")
            report["arms"][arm] = train_measured(store, "grpo", configs[arm], overrides, scale,
                                                 name=f"grpo {arm}")
        save()
    store.close()


def main(argv: list[str] | None = None) -> int:
    """Run the arms; write the JSON after each part; print the table.

    Returns:
        0; 1 when a part failed (a skipped arm is not a failure); 2 when the run cannot start
        (Kindling not importable, no CUDA device).
    """
    args = parse_args(argv)
    scale = SMOKE_SCALE if args.smoke else GPU_SCALE
    if args.steps is not None or args.rm_steps is not None:
        scale = scale.with_steps(args.steps, args.rm_steps)
    out_path = args.out or default_out()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"scale": scale.name, "data": str(args.data), "steps": scale.grpo_steps,
                              "generation": vllm_note(scale), "sets": args.sets, "arms": {}}
    t_start = time.perf_counter()

    def save() -> None:
        report["wall_s"] = time.perf_counter() - t_start
        out_path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))

    problem = check_machine(scale)
    if problem is not None:
        report["error"] = problem
        save()
        print(problem, file=sys.stderr)
        return 2
    print(f"gpu_paper_arms: {scale.name}; arms {','.join(args.arms)}; GRPO steps {scale.grpo_steps}; "
          f"generation: {report['generation']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="kindling-paper-arms-") as tmp:
        try:
            run(args, scale, Path(tmp), report, save)
        except Exception as exc:  # noqa: BLE001 - record what failed before the arms
            traceback.print_exc()
            report["error"] = f"{type(exc).__name__}: {exc}"
        save()
    print_table(report)
    print(f"\nwrote {out_path} ({report['wall_s']:.1f} s in all)", flush=True)
    parts = [report.get("rm_train", {}), *report["arms"].values()]
    return 1 if "error" in report or any("error" in p for p in parts) else 0


if __name__ == "__main__":
    sys.exit(main())
