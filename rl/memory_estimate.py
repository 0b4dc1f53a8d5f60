"""Peak GPU memory per device for training a causal LM, from its config and a training setup.

Pure arithmetic on a transformers config: the parameter count and every linear layer's shape come
from instantiating the model on the meta device (`AutoModelForCausalLM.from_config` under
`torch.device("meta")`: no download, no memory), so counts are exact, tied embeddings included.

Assumptions (bytes per parameter P, trainable parameters T):
- Full fine-tune, bf16 mixed precision, AdamW: 2 (bf16 weights) + 2 (bf16 grads) + 12 (fp32 master
  copy, exp_avg, exp_avg_sq) = 16 bytes. HF Trainer's autocast on fp32 weights (4 + 4 + 8) is also
  16. fp32: 4 + 4 + 8 (no master copy) = 16.
- LoRA: frozen base weights in the training dtype; adapters (r·(in+out) per targeted linear) kept in
  fp32 as PEFT does, so 4 + 4 + 8 = 16 bytes per trainable parameter.
- DDP / none: everything replicated. ZeRO-3 / FSDP full shard: weights, grads and optimizer state
  divided by N, plus two decoder layers gathered in full (the current one and the prefetched one).
- Activations: the per-layer accounting of Korthikanti et al., "Reducing Activation Recomputation in
  Large Transformer Models" (2022), which gives sbh(34 + 5as/h) bytes per layer for a 16-bit GPT
  block without recomputation and 2sbh with full recomputation. Redone here for the Qwen2/Llama block
  as transformers runs it (RMSNorm in fp32, GQA, SwiGLU, no dropout), per token and layer:
  `8h + e(6h + 2h_kv + 4i) + 4a` bytes with SDPA/flash attention (e: bytes of the dtype), plus
  `a·s·(4 + e)` (bf16) or `4a·s` (fp32) for eager attention's probabilities. With gradient
  checkpointing each layer keeps its input (`e·h`) and one layer is recomputed in full during
  backward. Outside the layers: the embedding output, the final norm and the fp32 log-softmax of the
  logits (4V per token) are saved; `logits` counts the transient logits and their fp32 gradient.
  A reward model (`head="score"`) has a one-output score head instead of the LM head: no
  vocabulary-sized logits, and the LM head's parameters (when not tied) are not held.
- Measured on CPU (tests/unit/test_memory_estimate.py, Qwen2 config h=256, 4 layers, vocab 4000,
  fp32): weights, gradients and AdamW state match the tensors' bytes to < 0.1%; the tensors saved
  for backward (torch.autograd.graph.saved_tensors_hooks, unique storages) match to about 1%.
- `overhead`: 1 GiB for the CUDA context, kernels and allocator fragmentation (a guess, not measured).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal

GiB = 1024**3
DTYPE_BYTES = {"bf16": 2, "fp16": 2, "fp32": 4}
OVERHEAD_BYTES = 1 * GiB
SHARDED = ("zero3", "fsdp")
_SHAPE_CACHE: dict[str, ModelShape] = {}


@dataclass(frozen=True)
class ModelShape:
    """What the estimate needs from a model: exact counts and the block's dimensions."""

    params: int
    layer_params: int
    linears: tuple[tuple[str, int, int], ...]  # (qualified name, in_features, out_features)
    hidden: int
    layers: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int
    lm_head_params: int = 0  # the output head's own parameters (0 when tied to the embedding)

    def lora_params(self, r: int, target_modules: str | tuple[str, ...] = "all-linear") -> int:
        """Trainable LoRA parameters: r·(in + out) for each targeted linear layer.

        Args:
            r: the LoRA rank.
            target_modules: "all-linear" (every linear but the output head, as PEFT does) or
                module names such as ("q_proj", "v_proj").
        """
        total = 0
        for name, fan_in, fan_out in self.linears:
            leaf = name.rsplit(".", 1)[-1]
            hit = leaf != "lm_head" if target_modules == "all-linear" else leaf in target_modules
            total += r * (fan_in + fan_out) if hit else 0
        return total


def model_shape(config: Any) -> ModelShape:
    """Counts a transformers config's parameters by building the model on the meta device.

    Args:
        config: a `PretrainedConfig` of a decoder-only causal LM (Qwen2, Llama, Mistral shapes).
    """
    key = type(config).__name__ + json.dumps(config.to_dict(), sort_keys=True, default=str)
    if key not in _SHAPE_CACHE:
        _SHAPE_CACHE[key] = _build_shape(config)
    return _SHAPE_CACHE[key]


def _build_shape(config: Any) -> ModelShape:
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    linears = tuple((name, mod.in_features, mod.out_features) for name, mod in model.named_modules()
                    if isinstance(mod, torch.nn.Linear))
    layer0 = model.get_decoder().layers[0]
    heads = config.num_attention_heads
    out, emb = model.get_output_embeddings(), model.get_input_embeddings()
    own_head = out is not None and out.weight is not emb.weight
    return ModelShape(
        params=sum(p.numel() for p in model.parameters()),
        layer_params=sum(p.numel() for p in layer0.parameters()),
        linears=linears, hidden=config.hidden_size, layers=config.num_hidden_layers,
        intermediate=config.intermediate_size, heads=heads,
        kv_heads=getattr(config, "num_key_value_heads", None) or heads, vocab=config.vocab_size,
        lm_head_params=out.weight.numel() if own_head else 0)


@dataclass(frozen=True)
class TrainingSetup:
    """How the model is trained, per device."""

    dtype: Literal["bf16", "fp16", "fp32"] = "bf16"
    optimizer: Literal["adamw"] = "adamw"
    lora_r: int | None = None  # None: full fine-tune
    lora_target_modules: str | tuple[str, ...] = "all-linear"
    gradient_checkpointing: bool = False
    micro_batch_size: int = 1
    seq_len: int = 1024
    sharding: Literal["none", "ddp", "zero3", "fsdp"] = "none"
    num_devices: int = 1
    vllm_gpu_memory_utilization: float = 0.0  # colocated vLLM's share of each card
    attention: Literal["sdpa", "flash", "eager"] = "sdpa"
    head: Literal["lm", "score"] = "lm"  # score: a reward model's one-output head, no LM logits

    def outputs(self, shape: ModelShape) -> int:
        """Values the head gives per token: the vocabulary, or a reward model's one score."""
        return shape.vocab if self.head == "lm" else 1

    def describe(self) -> str:
        """One line: what this setup is."""
        parts = [self.dtype, f"LoRA r={self.lora_r}" if self.lora_r else "full", self.optimizer,
                 f"{self.sharding} over {self.num_devices}" if self.sharding in SHARDED
                 else f"{self.sharding} ×{self.num_devices}",
                 f"batch {self.micro_batch_size}×{self.seq_len}"]
        if self.gradient_checkpointing:
            parts.append("gradient checkpointing")
        if self.vllm_gpu_memory_utilization:
            parts.append(f"vLLM {self.vllm_gpu_memory_utilization:.0%}")
        if self.head == "score":
            parts.append("score head")
        return ", ".join(parts)


@dataclass(frozen=True)
class MemoryEstimate:
    """Peak bytes on one device, by what holds them."""

    weights: int
    gradients: int
    optimizer: int
    activations: int
    logits: int
    vllm: int
    overhead: int
    setup: TrainingSetup

    @property
    def total(self) -> int:
        """Sum of every part."""
        return (self.weights + self.gradients + self.optimizer + self.activations + self.logits
                + self.vllm + self.overhead)

    def breakdown(self) -> dict[str, int]:
        """Every part and the total, in bytes."""
        parts = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "setup"}
        return {**parts, "total": self.total}

    def describe(self) -> str:
        """One line in GiB: the total, then each part."""
        parts = ", ".join(f"{k} {v / GiB:.1f}" for k, v in self.breakdown().items() if k != "total")
        return f"{self.total / GiB:.1f} GiB per device ({parts})"


def estimate_memory(config: Any, setup: TrainingSetup, device_bytes: int | None = None
                    ) -> MemoryEstimate:
    """Peak GPU memory per device for one training step.

    Args:
        config: a transformers config, or a `ModelShape` already computed from one.
        setup: dtype, optimizer, LoRA, checkpointing, micro-batch, sharding, vLLM share.
        device_bytes: one card's memory; needed only for the vLLM share.

    Raises:
        ValueError: a vLLM share without `device_bytes`, or an unknown dtype or optimizer.
    """
    shape = config if isinstance(config, ModelShape) else model_shape(config)
    if setup.dtype not in DTYPE_BYTES or setup.optimizer != "adamw":
        raise ValueError(f"unsupported dtype/optimizer: {setup.dtype}/{setup.optimizer}")
    if setup.vllm_gpu_memory_utilization and device_bytes is None:
        raise ValueError("a vLLM share needs device_bytes (the card's memory)")
    e = DTYPE_BYTES[setup.dtype]
    params = shape.params if setup.head == "lm" else \
        shape.params - shape.lm_head_params + shape.hidden  # the LM head swapped for a score
    if setup.lora_r:
        trainable = shape.lora_params(setup.lora_r, setup.lora_target_modules)
        weights, grads, optim = params * e + trainable * 4, trainable * 4, trainable * 8
    else:
        master = 4 if e < 4 else 0
        weights, grads, optim = params * e, params * e, params * (8 + master)
    if setup.sharding in SHARDED and setup.num_devices > 1:
        n = setup.num_devices
        gathered = 2 * shape.layer_params * e
        weights, grads, optim = -(-weights // n) + gathered, -(-grads // n), -(-optim // n)
    vllm = int(setup.vllm_gpu_memory_utilization * (device_bytes or 0))
    tokens = setup.micro_batch_size * setup.seq_len
    return MemoryEstimate(weights=weights, gradients=grads, optimizer=optim,
                          activations=activation_bytes(shape, setup),
                          logits=tokens * setup.outputs(shape) * (e + 4), vllm=vllm,
                          overhead=OVERHEAD_BYTES, setup=setup)


def layer_activation_bytes_per_token(shape: ModelShape, setup: TrainingSetup) -> int:
    """Bytes one decoder layer saves for backward per token (no recomputation)."""
    e = DTYPE_BYTES[setup.dtype]
    h, a = shape.hidden, shape.heads
    h_kv = shape.kv_heads * (h // a)
    per_token = 8 * h + e * (6 * h + 2 * h_kv + 4 * shape.intermediate) + 4 * a
    if setup.attention == "eager":
        per_token += a * setup.seq_len * (4 + (e if e < 4 else 0))
    return per_token


def activation_bytes(shape: ModelShape, setup: TrainingSetup) -> int:
    """Bytes saved for backward in one micro-batch: the layers, then the embedding, norm and loss."""
    e = DTYPE_BYTES[setup.dtype]
    tokens = setup.micro_batch_size * setup.seq_len
    layer = layer_activation_bytes_per_token(shape, setup) * tokens
    if setup.gradient_checkpointing:
        layers = shape.layers * e * shape.hidden * tokens + layer  # inputs kept, one recomputed
    else:
        layers = shape.layers * layer
    outside = tokens * (e * shape.hidden + 4 * shape.hidden + 2 * e * shape.hidden
                        + 4 * setup.outputs(shape))
    return layers + outside


def fits(estimate: MemoryEstimate, device_bytes: int) -> bool:
    """Whether the estimated peak fits one card of `device_bytes`."""
    return estimate.total <= device_bytes


@dataclass(frozen=True)
class Suggestion:
    """An alternative setup that fits, with its estimate."""

    label: str
    setup: TrainingSetup
    estimate: MemoryEstimate


def what_would_fit(config: Any, setup: TrainingSetup, device_bytes: int,
                   max_devices: int = 8) -> list[Suggestion]:
    """Alternatives that fit, in this order: ZeRO-3 over the fewest cards (≤ max_devices), LoRA r=16
    on the same cards, gradient checkpointing on the same cards. Empty: try a smaller model.

    Args:
        config: a transformers config or a `ModelShape`.
        setup: the setup that does not fit.
        device_bytes: one card's memory.
        max_devices: the most cards to shard over.
    """
    shape = config if isinstance(config, ModelShape) else model_shape(config)
    candidates: list[tuple[str, TrainingSetup]] = []
    first = setup.num_devices + 1 if setup.sharding in SHARDED else max(2, setup.num_devices)
    for n in range(first, max_devices + 1):
        sharded = dataclasses.replace(setup, sharding="zero3", num_devices=n)
        if fits(estimate_memory(shape, sharded, device_bytes), device_bytes):
            candidates.append((f"ZeRO-3 over {n} cards", sharded))
            break
    if not setup.lora_r:
        candidates.append(("LoRA r=16", dataclasses.replace(setup, lora_r=16)))
    if not setup.gradient_checkpointing:
        candidates.append(("gradient checkpointing",
                           dataclasses.replace(setup, gradient_checkpointing=True)))
    out = []
    for label, alternative in candidates:
        estimate = estimate_memory(shape, alternative, device_bytes)
        if fits(estimate, device_bytes):
            out.append(Suggestion(label, alternative, estimate))
    return out
