"""SFT, RM and GRPO steps of a 0.5B Qwen2-shaped model on one CUDA GPU: Kindling's settings vs TRL's defaults.

The model is Qwen2.5-0.5B's shape built from config (hidden 896, 24 layers, 14 heads, 2 KV heads,
MLP 4864, vocab 151936, tied embeddings), random weights, bf16, saved once to a temp folder so
every phase starts from the same weights. The tokenizer is a small byte-level BPE trained here in
about a second, with a ChatML template; the model keeps its 151936-row vocabulary for shape
fidelity (sampled ids above the tokenizer's size decode to nothing, which costs nothing). No hub.

Phases, one after another in one process, peak memory reset between them:

    sft          TRL SFTTrainer, Kindling's settings: bf16, batch 16, max_length 512, no gradient checkpointing
    rm           TRL RewardTrainer on Qwen2ForSequenceClassification (same shape), batch 16, max_length 512
    grpo         TRL GRPOTrainer, Kindling's GPU settings: 64 completions per step (16 prompts x 4),
                 one generation per step, no gradient checkpointing, KV cache, beta 0.001, dr_grpo
    grpo_trl     TRL GRPOTrainer with GRPOConfig's defaults (8 completions per step, gradient
                 checkpointing on, beta 0) except output_dir, max_steps and max_completion_length
    grpo_gen128  as grpo (64 completions per optimizer step), but generating 128 completions at once
                 every 2 steps (TRL's generation_batch_size=128, steps_per_generation=2)

Every GRPO phase has a deterministic reward (completion length in tokens) and generates exactly
max_completion_length (256) tokens per completion (min_new_tokens: EOS is suppressed until then), so
tokens/s compare. Step times are measured end to end (step end to step end, CUDA synchronized), the
first --warmup steps excluded. Completion tokens/s = completion tokens generated in the timed steps
/ their time (counted from the completion ids TRL hands the reward); SFT and RM report training
tokens/s (non-padding tokens in the batches). Peak memory is torch.cuda.max_memory_allocated.
The JSON (--out) is rewritten after every phase, so a timeout keeps what was measured.

TRL and datasets may come as wheels (benchmarks/gpu_wheels.sh downloads them): when `trl` is not
importable, `--wheels DIR` (default: benchmarks/wheels when present) is pip-installed first, offline.

    python3 benchmarks/gpu_train.py [--wheels benchmarks/wheels] [--phases sft,rm,grpo,grpo_trl,grpo_gen128]
                                    [--warmup 1] [--steps 3] [--out PATH]
    python3 benchmarks/gpu_train.py --smoke     # CPU, tiny shape, 1 step each (the unit test runs this)

Standalone on purpose: only torch, transformers, accelerate, peft, trl, datasets and the stdlib.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PHASES = ("sft", "rm", "grpo", "grpo_trl", "grpo_gen128")
GRPO_PHASES = ("grpo", "grpo_gen128")  # Kindling's GRPO phases, each compared with grpo_trl
GIB = 2**30


# ---------------------------------------------------------------------------------------------
# Settings: one dataclass per mode
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """Model shape (Qwen2 config fields)."""

    hidden_size: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab_size: int
    max_position: int


@dataclass(frozen=True)
class KindlingGRPO:
    """Kindling's GPU GRPO settings (TRL GRPOConfig fields)."""

    num_generations: int = 4
    per_device_train_batch_size: int = 64  # completions per optimizer step
    generation_batch_size: int = 64  # completions per generate() call; 64: one generation per step
    gradient_checkpointing: bool = False
    beta: float = 0.001  # as configs/grpo_tiny.yaml: a little KL keeps a reference model (and kl logged)
    loss_type: str = "dr_grpo"
    learning_rate: float = 1e-5


@dataclass(frozen=True)
class Mode:
    """Everything one run's measurements depend on."""

    name: str
    device: str  # "cuda" or "cpu"
    dtype: str  # the model's parameter dtype
    bf16: bool  # Trainer's bf16 flag (Kindling's phases; TRL's default phase keeps TRL's default)
    shape: Shape
    tokenizer_vocab: int  # BPE target size (must stay below shape.vocab_size)
    n_prompts: int
    prompt_tokens: int  # user-message tokens per prompt (the chat template adds a few)
    completion_tokens: int  # max_completion_length, forced via min_new_tokens
    sft_batch: int
    sft_max_length: int
    rm_batch: int
    rm_max_length: int
    grpo: KindlingGRPO
    grpo_gen_big: int  # grpo_gen128's generation_batch_size
    warmup: int
    steps: int


GPU = Mode(
    name="gpu", device="cuda", dtype="bfloat16", bf16=True,
    shape=Shape(hidden_size=896, layers=24, heads=14, kv_heads=2, intermediate=4864,
                vocab_size=151936, max_position=32768),
    tokenizer_vocab=4000, n_prompts=256, prompt_tokens=30, completion_tokens=256,
    sft_batch=16, sft_max_length=512, rm_batch=16, rm_max_length=512,
    grpo=KindlingGRPO(), grpo_gen_big=128, warmup=1, steps=3,
)

SMOKE = Mode(
    name="smoke", device="cpu", dtype="float32", bf16=False,
    shape=Shape(hidden_size=64, layers=2, heads=4, kv_heads=2, intermediate=128,
                vocab_size=1024, max_position=512),
    tokenizer_vocab=800, n_prompts=64, prompt_tokens=12, completion_tokens=8,
    sft_batch=4, sft_max_length=64, rm_batch=4, rm_max_length=64,
    grpo=KindlingGRPO(per_device_train_batch_size=8, generation_batch_size=8), grpo_gen_big=16,
    warmup=1, steps=1,
)


# ---------------------------------------------------------------------------------------------
# TRL and datasets from wheels
# ---------------------------------------------------------------------------------------------


def ensure_trl(wheels: str | None) -> None:
    """Install trl and datasets offline from `wheels` when they are not importable."""
    try:
        import datasets
        import trl

        del datasets, trl
        return
    except ImportError as exc:
        missing = exc.name
    folder = Path(wheels) if wheels else HERE / "wheels"
    if not folder.is_dir():
        sys.exit(f"{missing} is not installed and no wheels folder ({folder}): run benchmarks/gpu_wheels.sh "
                 "where pip can download, carry benchmarks/wheels, and pass --wheels benchmarks/wheels")
    print(f"installing trl and datasets from {folder} (offline) ...", flush=True)
    base = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-cache-dir",
            "--disable-pip-version-check", "--find-links", str(folder)]
    wheels_list = [str(w) for w in sorted(folder.glob("*.whl"))]
    if subprocess.call([*base, "trl", "datasets"]) != 0:
        # A dependency pin the image cannot meet offline (pyarrow, fsspec, ...): install the carried
        # wheels as they are and let the imports decide; last, into a folder of their own.
        print("resolved install failed; retrying with --no-deps", flush=True)
        if subprocess.call([*base, "--no-deps", *wheels_list]) != 0:
            target = Path(tempfile.mkdtemp(prefix="gpu-train-site-"))
            print(f"retrying with --no-deps --target {target}", flush=True)
            if subprocess.call([*base, "--no-deps", "--target", str(target), *wheels_list]) != 0:
                sys.exit(f"pip could not install the wheels in {folder}")
            sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    import datasets  # noqa: F401
    import trl  # noqa: F401


# ---------------------------------------------------------------------------------------------
# Tokenizer, model and data (all synthetic, all in-process)
# ---------------------------------------------------------------------------------------------

CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
ASCII_WORDS = ("the", "model", "reward", "policy", "token", "step", "batch", "greeting", "hello", "world",
               "kind", "warm", "answer", "question", "please", "thank", "you", "today", "good", "morning")


def random_text(rng: random.Random, words: int) -> str:
    """Chinese-ish and ASCII words: common CJK characters in runs of 1-3, English words, punctuation."""
    out = []
    for _ in range(words):
        if rng.random() < 0.5:
            out.append("".join(chr(0x4E00 + rng.randrange(300)) for _ in range(rng.randint(1, 3))))
        else:
            out.append(rng.choice(ASCII_WORDS))
        if rng.random() < 0.1:
            out.append(rng.choice("，。！？,.!?"))
    return " ".join(out)


def build_tokenizer(mode: Mode, rng: random.Random) -> Any:
    """A byte-level BPE tokenizer with ChatML special tokens, trained on generated text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=mode.tokenizer_vocab, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator((random_text(rng, 40) for _ in range(2000)), trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"], chat_template=CHAT_TEMPLATE,
        clean_up_tokenization_spaces=False, model_max_length=mode.shape.max_position)
    assert len(tokenizer) <= mode.shape.vocab_size, (len(tokenizer), mode.shape.vocab_size)
    return tokenizer


def text_of_tokens(tokenizer: Any, rng: random.Random, n: int) -> str:
    """Random text of about `n` tokens (never more)."""
    text = random_text(rng, n)
    while len(tokenizer(text, add_special_tokens=False)["input_ids"]) < n:
        text += " " + random_text(rng, n)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"][:n]
    text = tokenizer.decode(ids)
    while len(tokenizer(text, add_special_tokens=False)["input_ids"]) > n:  # a re-encoding may grow
        text = text[:-1]
    return text


def torch_dtype(mode: Mode) -> Any:
    import torch

    return getattr(torch, mode.dtype)


def build_model_folder(mode: Mode, tokenizer: Any, folder: Path, seed: int) -> int:
    """Random-init the Qwen2 causal LM on the device, save it (and the tokenizer); return parameters."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    s = mode.shape
    config = Qwen2Config(
        vocab_size=s.vocab_size, hidden_size=s.hidden_size, num_hidden_layers=s.layers,
        num_attention_heads=s.heads, num_key_value_heads=s.kv_heads, intermediate_size=s.intermediate,
        max_position_embeddings=s.max_position, tie_word_embeddings=True, use_cache=True,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    with torch.device(mode.device):
        model = Qwen2ForCausalLM(config)
    model = model.to(torch_dtype(mode))
    params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    del model
    return params


def load_policy(mode: Mode, folder: Path) -> Any:
    from transformers import Qwen2ForCausalLM

    model = Qwen2ForCausalLM.from_pretrained(folder, dtype=torch_dtype(mode))
    return model.to(mode.device)


def load_reward_model(mode: Mode, folder: Path) -> Any:
    from transformers import Qwen2ForSequenceClassification

    model = Qwen2ForSequenceClassification.from_pretrained(folder, num_labels=1, dtype=torch_dtype(mode))
    return model.to(mode.device)


@dataclass
class Data:
    prompts: list[str]  # user messages, ~prompt_tokens each
    sft_responses: list[str]  # long: SFT rows are truncated to max_length
    rm_chosen: list[str]  # fit rm_max_length with the prompt (RewardTrainer drops longer pairs)
    rm_rejected: list[str]


def build_data(mode: Mode, tokenizer: Any, rng: random.Random) -> Data:
    n = mode.n_prompts
    prompts = [text_of_tokens(tokenizer, rng, mode.prompt_tokens) for _ in range(n)]
    # SFT responses are longer than max_length: every row is truncated to exactly max_length tokens.
    long_text = [text_of_tokens(tokenizer, rng, mode.sft_max_length) for _ in range(8)]
    sft = [long_text[i % 8] for i in range(n)]
    rm_len = mode.rm_max_length - mode.prompt_tokens - 24  # room for the chat template's tokens
    pool = [text_of_tokens(tokenizer, rng, rm_len - rng.randrange(8)) for _ in range(16)]
    chosen = [pool[i % 16] for i in range(n)]
    rejected = [pool[(i + 5) % 16] for i in range(n)]
    return Data(prompts, sft, chosen, rejected)


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------


def make_timer(mode: Mode) -> Any:
    """A TrainerCallback that stamps the start of training and the end of every optimizer step."""
    import torch
    from transformers import TrainerCallback

    def sync() -> None:
        if mode.device == "cuda":
            torch.cuda.synchronize()

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.stamps: list[float] = []  # train begin, then each step end
            self.step_tokens: dict[int, int] = {}  # GRPO: step index (0-based) -> completion tokens generated
            self.step_completions: dict[int, int] = {}

        @property
        def steps_done(self) -> int:
            return max(len(self.stamps) - 1, 0)

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            sync()
            self.stamps = [time.perf_counter()]

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            sync()
            self.stamps.append(time.perf_counter())
            print(f"    step {self.steps_done}: {self.stamps[-1] - self.stamps[-2]:.3f} s", flush=True)

        def durations(self) -> list[float]:
            return [b - a for a, b in zip(self.stamps, self.stamps[1:], strict=False)]

    return StepTimer()


class CountingCollator:
    """Wraps a data collator; counts batches and non-padding tokens."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.batches, self.tokens = inner, 0, 0

    def __call__(self, features: Any) -> Any:
        out = self.inner(features)
        mask = out.get("attention_mask") if hasattr(out, "get") else None
        self.tokens += int(mask.sum()) if mask is not None else int(out["input_ids"].numel())
        self.batches += 1
        return out


def length_reward(timer: Any) -> Any:
    """The reward: completion length in tokens (deterministic); records the tokens per step."""

    def completion_length(completions: list[Any], completion_ids: list[list[int]], **kwargs: Any) -> list[float]:
        lengths = [len(ids) for ids in completion_ids]
        step = timer.steps_done
        timer.step_tokens[step] = timer.step_tokens.get(step, 0) + sum(lengths)
        timer.step_completions[step] = timer.step_completions.get(step, 0) + len(lengths)
        return [float(n) for n in lengths]

    return completion_length


def summarize(timer: Any, warmup: int, tokens_per_step: float | None = None) -> dict[str, Any]:
    durations = timer.durations()
    timed = durations[warmup:]
    if not timed:
        raise RuntimeError(f"no timed steps: {len(durations)} steps ran, warmup {warmup}")
    total = sum(timed)
    if tokens_per_step is None:  # GRPO: tokens generated during the timed steps
        tokens = sum(v for k, v in timer.step_tokens.items() if k >= warmup)
        completions = sum(v for k, v in timer.step_completions.items() if k >= warmup)
    else:
        tokens, completions = tokens_per_step * len(timed), None
    out = {
        "warmup_step_s": [round(d, 4) for d in durations[:warmup]],
        "step_s_each": [round(d, 4) for d in timed],
        "step_s": total / len(timed),
        "timed_steps": len(timed),
        "tokens": tokens,
        "tokens_per_s": tokens / total,
    }
    if completions:
        out["completions"] = completions
        out["tokens_per_completion"] = tokens / completions
    return out


# ---------------------------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------------------------


def common_args(mode: Mode, out_dir: str, max_steps: int) -> dict[str, Any]:
    """Trainer fields every phase sets: none changes the speed of a step."""
    args: dict[str, Any] = dict(output_dir=out_dir, max_steps=max_steps, report_to="none",
                                save_strategy="no", disable_tqdm=True)
    if mode.device == "cpu":
        args.update(use_cpu=True, bf16=False)
    return args


def phase_sft(ctx: Context) -> dict[str, Any]:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    mode = ctx.mode
    rows = [{"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": r}]}
            for p, r in zip(ctx.data.prompts, ctx.data.sft_responses, strict=True)]
    args = SFTConfig(**common_args(mode, ctx.tmp("sft"), ctx.warmup + ctx.steps),
                     **({"bf16": True} if mode.bf16 else {}),
                     per_device_train_batch_size=mode.sft_batch, gradient_accumulation_steps=1,
                     max_length=mode.sft_max_length, gradient_checkpointing=False, learning_rate=1e-4,
                     seed=ctx.seed)
    timer = make_timer(mode)
    trainer = SFTTrainer(model=load_policy(mode, ctx.model_dir), args=args, train_dataset=Dataset.from_list(rows),
                         processing_class=ctx.tokenizer, callbacks=[timer])
    counter = CountingCollator(trainer.data_collator)
    trainer.data_collator = counter
    trainer.train()
    res = summarize(timer, ctx.warmup, tokens_per_step=counter.tokens / max(counter.batches, 1))
    res.update(kind="training tokens/s", batch=mode.sft_batch, max_length=mode.sft_max_length,
               gradient_checkpointing=False)
    release(trainer)
    return res


def phase_rm(ctx: Context) -> dict[str, Any]:
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    mode = ctx.mode
    rows = [{"prompt": [{"role": "user", "content": p}],
             "chosen": [{"role": "assistant", "content": c}],
             "rejected": [{"role": "assistant", "content": r}]}
            for p, c, r in zip(ctx.data.prompts, ctx.data.rm_chosen, ctx.data.rm_rejected, strict=True)]
    args = RewardConfig(**common_args(mode, ctx.tmp("rm"), ctx.warmup + ctx.steps),
                        **({"bf16": True} if mode.bf16 else {}),
                        per_device_train_batch_size=mode.rm_batch, gradient_accumulation_steps=1,
                        max_length=mode.rm_max_length, gradient_checkpointing=False, learning_rate=1e-4,
                        seed=ctx.seed)
    timer = make_timer(mode)
    trainer = RewardTrainer(model=load_reward_model(mode, ctx.model_dir), args=args,
                            train_dataset=Dataset.from_list(rows), processing_class=ctx.tokenizer,
                            callbacks=[timer])
    kept = len(trainer.train_dataset)
    if kept < mode.rm_batch:
        raise RuntimeError(f"RewardTrainer kept {kept} pairs (longer than max_length are dropped)")
    counter = CountingCollator(trainer.data_collator)
    trainer.data_collator = counter
    trainer.train()
    res = summarize(timer, ctx.warmup, tokens_per_step=counter.tokens / max(counter.batches, 1))
    res.update(kind="training tokens/s (chosen + rejected)", batch=mode.rm_batch, pairs_kept=kept,
               max_length=mode.rm_max_length, gradient_checkpointing=False)
    release(trainer)
    return res


def grpo_dataset(ctx: Context) -> Any:
    from datasets import Dataset

    return Dataset.from_list([{"prompt": [{"role": "user", "content": p}]} for p in ctx.data.prompts])


def run_grpo(ctx: Context, name: str, config_kwargs: dict[str, Any], spg: int) -> dict[str, Any]:
    """One GRPO phase; warmup and timed steps are rounded up to whole generation cycles (spg steps)."""
    from trl import GRPOConfig, GRPOTrainer

    mode = ctx.mode
    warmup = math.ceil(max(ctx.warmup, 1) / spg) * spg
    steps = math.ceil(ctx.steps / spg) * spg
    args = GRPOConfig(**common_args(mode, ctx.tmp(name), warmup + steps), **config_kwargs)
    timer = make_timer(mode)
    trainer = GRPOTrainer(model=load_policy(mode, ctx.model_dir), reward_funcs=length_reward(timer), args=args,
                          train_dataset=grpo_dataset(ctx), processing_class=ctx.tokenizer, callbacks=[timer])
    settings = {k: getattr(args, k) for k in (
        "per_device_train_batch_size", "num_generations", "generation_batch_size", "steps_per_generation",
        "gradient_accumulation_steps", "gradient_checkpointing", "max_completion_length", "beta", "loss_type",
        "learning_rate", "bf16", "num_iterations", "use_vllm", "cache_implementation", "generation_kwargs")}
    print(f"    GRPOConfig: {settings}", flush=True)
    trainer.train()
    res = summarize(timer, warmup)
    res.update(kind="completion tokens/s", settings=settings, reference_model=trainer.ref_model is not None)
    release(trainer)
    return res


def kindling_grpo_kwargs(ctx: Context, generation_batch_size: int) -> dict[str, Any]:
    mode, g = ctx.mode, ctx.mode.grpo
    return dict(
        **({"bf16": True} if mode.bf16 else {}),
        num_generations=g.num_generations, per_device_train_batch_size=g.per_device_train_batch_size,
        gradient_accumulation_steps=1, generation_batch_size=generation_batch_size,
        max_completion_length=mode.completion_tokens, gradient_checkpointing=g.gradient_checkpointing,
        beta=g.beta, loss_type=g.loss_type, learning_rate=g.learning_rate,
        generation_kwargs={"min_new_tokens": mode.completion_tokens, "use_cache": True},
        seed=ctx.seed,
    )


def phase_grpo(ctx: Context) -> dict[str, Any]:
    g = ctx.mode.grpo
    return run_grpo(ctx, "grpo", kindling_grpo_kwargs(ctx, g.generation_batch_size),
                    spg=g.generation_batch_size // g.per_device_train_batch_size)


def phase_grpo_gen128(ctx: Context) -> dict[str, Any]:
    g = ctx.mode.grpo
    return run_grpo(ctx, "grpo_gen128", kindling_grpo_kwargs(ctx, ctx.mode.grpo_gen_big),
                    spg=ctx.mode.grpo_gen_big // g.per_device_train_batch_size)


def phase_grpo_trl(ctx: Context) -> dict[str, Any]:
    # GRPOConfig's defaults, except: output_dir and max_steps (to run at all), max_completion_length
    # (the comparison's length) and min_new_tokens (every completion that long, as in Kindling's phase).
    # TRL's bf16 default is already True on a GPU. Defaults: 8 completions per step (one prompt x 8),
    # gradient checkpointing on, beta 0 (no reference model), loss dapo, learning rate 1e-6.
    kwargs = dict(max_completion_length=ctx.mode.completion_tokens,
                  generation_kwargs={"min_new_tokens": ctx.mode.completion_tokens})
    return run_grpo(ctx, "grpo_trl", kwargs, spg=1)


PHASE_FUNCS = {"sft": phase_sft, "rm": phase_rm, "grpo": phase_grpo, "grpo_trl": phase_grpo_trl,
               "grpo_gen128": phase_grpo_gen128}


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------

@dataclass
class Context:
    mode: Mode
    tokenizer: Any
    data: Data
    model_dir: Path
    work: Path
    warmup: int
    steps: int
    seed: int

    def tmp(self, name: str) -> str:
        return str(self.work / name)


def release(trainer: Any) -> None:
    """Drop a trainer's model, optimizer and buffers so the next phase starts from empty memory."""
    try:
        trainer.accelerator.free_memory()
    except Exception:  # noqa: BLE001 - best effort
        pass
    for attr in ("model", "model_wrapped", "ref_model", "optimizer", "lr_scheduler", "_buffered_inputs"):
        if hasattr(trainer, attr):
            try:
                setattr(trainer, attr, None)
            except Exception:  # noqa: BLE001 - some are read-only properties
                pass


def clear_memory(mode: Mode) -> None:
    import torch

    gc.collect()
    if mode.device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def memory(mode: Mode) -> dict[str, float | None]:
    """Peak allocated (the figure reported) and reserved GPU memory since the last reset, in GiB."""
    import torch

    if mode.device != "cuda":
        return {"peak_gib": None, "peak_reserved_gib": None}
    return {"peak_gib": torch.cuda.max_memory_allocated() / GIB,
            "peak_reserved_gib": torch.cuda.max_memory_reserved() / GIB}


def ratios(phases: dict[str, Any]) -> dict[str, Any]:
    base = phases.get("grpo_trl", {})
    out = {}
    for name in GRPO_PHASES:
        cur = phases.get(name, {})
        if "tokens_per_s" in cur and "tokens_per_s" in base:
            out[name] = {
                "tokens_per_s_ratio": cur["tokens_per_s"] / base["tokens_per_s"],
                "peak_gib": cur.get("peak_gib"), "trl_default_peak_gib": base.get("peak_gib"),
                "extra_gib": (cur["peak_gib"] - base["peak_gib"]
                              if cur.get("peak_gib") is not None and base.get("peak_gib") is not None else None),
            }
    return out


def fmt(v: Any, spec: str) -> str:
    """format(v, spec), or a dash as wide as the spec asks when v is None."""
    if v is None:
        width = "".join(c for c in spec.split(".")[0] if c.isdigit())
        return "-".rjust(int(width) if width else 1)
    return format(v, spec)


def print_table(report: dict[str, Any]) -> None:
    print("\nphase        step s   tokens/s   tok/compl   peak GiB   (tokens/s: GRPO completion tokens; "
          "SFT/RM training tokens)", flush=True)
    for name, r in report["phases"].items():
        if "error" in r:
            print(f"{name:<12} ERROR {r['error'].splitlines()[0][:90]}", flush=True)
            continue
        print(f"{name:<12} {r['step_s']:>6.3f} {r['tokens_per_s']:>10.1f} {fmt(r.get('tokens_per_completion'), '>11.1f')}"
              f" {fmt(r.get('peak_gib'), '>10.2f')}", flush=True)
    for name, r in report["ratios"].items():
        memory = (f", peak {r['peak_gib']:.2f} GiB vs {r['trl_default_peak_gib']:.2f} GiB "
                  f"({r['extra_gib']:+.2f} GiB)" if r["extra_gib"] is not None else "")
        print(f"{name} / grpo_trl: {r['tokens_per_s_ratio']:.2f}x completion tokens/s{memory}", flush=True)
    if report.get("ratio") is not None:
        print(f"ratio (Kindling grpo / TRL defaults): {report['ratio']:.2f}x  target >= 5x", flush=True)


def default_out() -> Path:
    return Path(os.environ["OUT"]) / "gpu_train.json" if os.environ.get("OUT") else Path("gpu_train.json")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    ensure_trl(args.wheels)

    import datasets
    import torch
    import transformers
    import trl

    mode = SMOKE if args.smoke else GPU
    mode = replace(mode, warmup=args.warmup if args.warmup is not None else mode.warmup,
                   steps=args.steps if args.steps is not None else mode.steps)
    if mode.warmup < 1 or mode.steps < 1:
        sys.exit("--warmup and --steps must be >= 1")
    if mode.device == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device: run on a GPU, or use --smoke for the CPU smoke run")
    if mode.device == "cpu":
        torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers' renames (gradient_checkpointing)
    datasets.disable_progress_bars()
    out_path = args.out or default_out()
    out_path.parent.mkdir(parents=True, exist_ok=True)

    report: dict[str, Any] = {
        "mode": asdict(mode),
        "env": {"python": platform.python_version(), "torch": torch.__version__,
                "transformers": transformers.__version__, "trl": trl.__version__,
                "datasets": datasets.__version__,
                "device": torch.cuda.get_device_name() if mode.device == "cuda" else platform.processor() or "cpu"},
        "phases": {}, "ratios": {}, "ratio": None,
    }
    print(f"gpu_train: mode {mode.name} on {report['env']['device']}; torch {torch.__version__}, "
          f"transformers {transformers.__version__}, trl {trl.__version__}; phases {','.join(args.phases)}; "
          f"warmup {mode.warmup}, steps {mode.steps}", flush=True)

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

        for name in args.phases:
            clear_memory(mode)
            start_gib = torch.cuda.memory_allocated() / GIB if mode.device == "cuda" else None
            print(f"\n== {name} ==", flush=True)
            t0 = time.perf_counter()
            try:
                res = PHASE_FUNCS[name](ctx)
            except Exception as exc:  # noqa: BLE001 - one failed phase must not lose the others
                traceback.print_exc()
                res = {"error": f"{type(exc).__name__}: {exc}"}
            res.update(memory(mode), start_gib=start_gib)
            res["phase_wall_s"] = time.perf_counter() - t0
            report["phases"][name] = res
            if "error" not in res:
                print(f"{name}: step {res['step_s']:.3f} s, {res['tokens_per_s']:.1f} {res['kind']}, "
                      f"peak {fmt(res['peak_gib'], '.2f')} GiB, phase {res['phase_wall_s']:.1f} s", flush=True)
            report["ratios"] = ratios(report["phases"])
            report["ratio"] = report["ratios"].get("grpo", {}).get("tokens_per_s_ratio")
            report["wall_s"] = time.perf_counter() - t_start
            out_path.write_text(json.dumps(report, indent=2, default=str))
            clear_memory(mode)

    print_table(report)
    print(f"\nwrote {out_path} ({report['wall_s']:.1f} s in all)", flush=True)
    return 1 if any("error" in r for r in report["phases"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
