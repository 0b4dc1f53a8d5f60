"""The GPU benchmark's settings: one frozen dataclass per mode (GPU, CPU smoke), phase names."""

from __future__ import annotations

from dataclasses import dataclass, field

PHASES = ("sft", "rm", "grpo", "grpo_trl", "grpo_gen128", "grpo_vllm")
"""Every phase, in run order (grpo_vllm last: a vLLM failure cannot cost the others)."""
GRPO_PHASES = ("grpo", "grpo_gen128", "grpo_vllm")
"""Kindling's GRPO phases, each compared with grpo_trl (TRL's defaults)."""
BASELINE = "grpo_trl"
TARGET_RATIO = 5.0
"""Completion tokens/s of Kindling's settings over TRL's defaults (issue 15)."""
GIB = 2**30


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
    # grpo_vllm only: TRL's colocate defaults, the weights kept on the GPU between generations
    vllm_gpu_memory_utilization: float = 0.3
    vllm_enable_sleep_mode: bool = False


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
    completion_tokens: int  # max_completion_length, forced via min_new_tokens (vLLM: min_tokens)
    sft_batch: int
    sft_max_length: int
    rm_batch: int
    rm_max_length: int
    grpo: KindlingGRPO = field(default_factory=KindlingGRPO)
    grpo_gen_big: int = 128  # grpo_gen128's generation_batch_size
    warmup: int = 1
    steps: int = 3


GPU = Mode(
    name="gpu", device="cuda", dtype="bfloat16", bf16=True,
    shape=Shape(hidden_size=896, layers=24, heads=14, kv_heads=2, intermediate=4864,
                vocab_size=151936, max_position=32768),
    tokenizer_vocab=4000, n_prompts=256, prompt_tokens=30, completion_tokens=256,
    sft_batch=16, sft_max_length=512, rm_batch=16, rm_max_length=512,
    grpo=KindlingGRPO(), grpo_gen_big=128, warmup=1, steps=3,
)
"""Qwen2.5-0.5B's shape in bf16 on one CUDA GPU."""

SMOKE = Mode(
    name="smoke", device="cpu", dtype="float32", bf16=False,
    shape=Shape(hidden_size=64, layers=2, heads=4, kv_heads=2, intermediate=128,
                vocab_size=1024, max_position=512),
    tokenizer_vocab=800, n_prompts=64, prompt_tokens=12, completion_tokens=8,
    sft_batch=4, sft_max_length=64, rm_batch=4, rm_max_length=64,
    grpo=KindlingGRPO(per_device_train_batch_size=8, generation_batch_size=8), grpo_gen_big=16,
    warmup=1, steps=1,
)
"""A tiny fp32 version on CPU, 1 timed step per phase (the unit test runs it)."""
