"""The GRPO judge reward for one batch against the stand-in server: ratio to the ideal, step share.

128 conversational completions, one Detector call each, 100 ms latency per call, at most 32 calls
in flight: the latency-bound ideal is 128 / 32 × 0.1 s = 0.4 s. Target: ratio (ideal / measured)
≥ 0.85. The reward runs as GRPOTrainer 1.16 runs async reward functions: awaited with
``asyncio.run_coroutine_threadsafe`` on one daemon event loop that lives for the whole run.

In the same run: the SDK floor (the same calls with bare ChatOpenAI.ainvoke, nothing else), and a
TRL-like step of a tiny Qwen2 built from config (generate 128 completions of 32 tokens, one
forward + backward + optimizer step), to print the reward's share of the step time:
reward / (reward + step). Rounds use fresh completions; the median round is reported.

    python benchmarks/grpo_judge_reward.py [--completions 128] [--in-flight 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.judge.service import build_judge_service, resolve_judge
from kindling.agents.llm.config import LLMConfig
from kindling.rl.rewards.judge import JudgeReward
from kindling.store.db import Store
from kindling.store.work import get_or_create_run
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

from benchmarks.judge_throughput import PHRASES, sdk_floor
from tests.standin import StandinConfig, StandinServer

LATENCY_S = 0.1
KEY_ENV = "KINDLING_BENCH_KEY"
NEW_TOKENS = 32

Messages = list[dict[str, str]]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--completions", type=int, default=128)
    p.add_argument("--in-flight", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--db-url", default=None, help="default: a fresh SQLite file in a temp dir")
    return p.parse_args()


def make_batch(n: int, tag: int) -> tuple[list[Messages], list[Messages]]:
    """n conversational (prompt, completion) pairs, 16 prompts × n/16 generations, distinct texts."""
    prompts = [[{"role": "user", "content": f"写一句祝福语（场景{i // 8}）"}] for i in range(n)]
    completions = [[{"role": "assistant",
                     "content": f"{PHRASES[i % len(PHRASES)]}！（第{tag}-{i}条）"}]
                   for i in range(n)]
    return prompts, completions


def start_loop() -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    """One event loop on a daemon thread, as GRPOTrainer starts for async reward functions."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="bench-async-loop", daemon=True)
    thread.start()
    return loop, thread


def judge_rounds(store: Store, server: StandinServer, n: int, in_flight: int,
                 rounds: int) -> list[dict[str, float]]:
    """The judge reward on fresh batches (synchronous caller, daemon loop), then a cached pass."""
    llm = LLMConfig(backend="openai", base_url=server.base_url, model="standin",
                    api_key_env=KEY_ENV, max_concurrency=in_flight, timeout_s=10)
    run, _ = get_or_create_run(store, kind="grpo", run_key=None, config={}, code_version="bench")
    reward = JudgeReward(build_judge_service(store, resolve_judge(store, JudgeConfig(llm=llm, concurrency=2 * in_flight)),
                                             run.id))
    loop, thread = start_loop()

    def call(prompts: list[Messages], completions: list[Messages]) -> list[float | None]:
        future = asyncio.run_coroutine_threadsafe(
            reward(prompts=prompts, completions=completions, log_metric=lambda _k, _v: None),
            loop)
        return future.result()

    call(*make_batch(1, -1000 - int(time.time())))  # warm-up: connection pool
    out = []
    for r in range(rounds):
        prompts, completions = make_batch(n, r)
        before = server.stats()["total"]
        t0 = time.perf_counter()
        rewards = call(prompts, completions)
        wall = time.perf_counter() - t0
        requests = server.stats()["total"] - before
        t1 = time.perf_counter()
        again = call(prompts, completions)
        wall2 = time.perf_counter() - t1
        out.append({"wall": wall, "requests": requests, "wall2": wall2,
                    "requests2": server.stats()["total"] - before - requests,
                    "failed": sum(x is None for x in rewards),
                    "good": sum(x == 1.0 for x in rewards), "same": float(again == rewards)})
    asyncio.run_coroutine_threadsafe(reward.aclose(), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()
    return out


def tiny_policy() -> tuple[Any, PreTrainedTokenizerFast]:
    """A tiny Qwen2 causal LM built from config, with a character-level tokenizer trained here."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tok.train_from_iterator(list(PHRASES) * 4 + ["写一句祝福语（场景）"],
                            trainers.BpeTrainer(vocab_size=400,
                                                special_tokens=["<unk>", "<eos>", "<pad>"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", pad_token="<pad>",
                                        unk_token="<unk>", padding_side="left")
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    return Qwen2ForCausalLM(config), tokenizer


def step_time(model: Any, tokenizer: PreTrainedTokenizerFast, n: int) -> float:
    """One TRL-like step: generate n completions of NEW_TOKENS tokens, forward + backward + update."""
    prompts = [f"写一句祝福语（场景{i // 8}）" for i in range(n)]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    t0 = time.perf_counter()
    batch = tokenizer(prompts, return_tensors="pt", padding=True)
    model.eval()
    with torch.no_grad():
        ids = model.generate(**batch, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                             do_sample=True, pad_token_id=tokenizer.pad_token_id)
    model.train()
    mask = torch.ones_like(ids)
    mask[:, :batch["input_ids"].shape[1]] = batch["attention_mask"]
    logits = model(input_ids=ids, attention_mask=mask).logits[:, -NEW_TOKENS - 1:-1]
    logps = torch.log_softmax(logits.float(), -1).gather(-1, ids[:, -NEW_TOKENS:, None])
    loss = -logps.mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return time.perf_counter() - t0


def median_round(rounds: list[dict[str, float]]) -> dict[str, float]:
    walls = [r["wall"] for r in rounds]
    return rounds[walls.index(statistics.median_low(walls))]


def main() -> None:
    args = parse_args()
    os.environ[KEY_ENV] = "bench"
    tmp = tempfile.mkdtemp(prefix="kindling-bench-grpo-")
    store = Store(args.db_url or f"sqlite:///{tmp}/bench.db")
    n, k = args.completions, args.in_flight
    with StandinServer(StandinConfig(latency_s=LATENCY_S)) as server:
        floors = []
        for i in range(args.rounds):
            _p, completions = make_batch(n, -i - 1)
            items = [(f"写一句祝福语（场景{j // 8}）", c[0]["content"])
                     for j, c in enumerate(completions)]
            floors.append(asyncio.run(sdk_floor(server.base_url, items, k)))
        judges = judge_rounds(store, server, n, k, args.rounds)
    model, tokenizer = tiny_policy()
    step_time(model, tokenizer, 8)  # warm-up
    steps = [step_time(model, tokenizer, n) for _ in range(args.rounds)]
    ideal = n / k * LATENCY_S
    r, floor = median_round(judges), median_round(floors)
    step = statistics.median(steps)
    params = sum(p.numel() for p in model.parameters())
    print(f"store: {store.dialect}   cores: {os.cpu_count()}   completions: {n}   in flight: {k}   "
          f"latency: {LATENCY_S * 1000:.0f} ms per call   rounds: {args.rounds} (median shown)")
    print("[judge reward: every completion judged by the LLM, called as GRPOTrainer calls it]")
    print(f"  LLM requests / failed / Good  : {r['requests']} / {r['failed']} / {r['good']}")
    print(f"  wall                          : {r['wall']:.3f} s   (ideal {ideal:.3f} s)")
    print(f"  ratio to ideal                : {ideal / r['wall']:.3f}   (target >= 0.85)   "
          "all rounds: " + ", ".join(f"{ideal / j['wall']:.2f}" for j in judges))
    print(f"  SDK floor (bare ainvoke)      : {floor['wall']:.3f} s   ratio to ideal "
          f"{ideal / floor['wall']:.3f}   all rounds: "
          + ", ".join(f"{ideal / f['wall']:.2f}" for f in floors))
    print(f"  same batch again (cache)      : {r['wall2'] * 1000:.1f} ms   LLM requests "
          f"{r['requests2']} (must be 0)   same rewards: {bool(r['same'])}")
    print(f"[step: tiny Qwen2 ({params / 1e6:.2f}M params, CPU, {torch.get_num_threads()} threads), "
          f"generate {n} × {NEW_TOKENS} tokens + forward/backward/update]")
    print("  step time                     : " + ", ".join(f"{s:.3f} s" for s in steps)
          + f"   (median {step:.3f} s)")
    print(f"  reward share of step time     : {r['wall'] / (r['wall'] + step):.1%}   "
          "= reward / (reward + step)")
    print(f"  cached reward share           : {r['wall2'] / (r['wall2'] + step):.1%}")


if __name__ == "__main__":
    main()
