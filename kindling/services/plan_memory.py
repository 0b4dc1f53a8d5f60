"""GPU memory per device of each training step of an experiment, before anything runs.

The model's shape comes from its config alone (rl/memory_estimate.py counts it on the meta device):
a folder's config.json, the Hugging Face cache (no network), or configs/model_shapes.yaml. How a
step trains (full or LoRA, dtype, checkpointing, batch × length, sharding, colocated vLLM) comes
from its loaded train config and its launch settings; the devices from kindling/services/gpus.py.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kindling.rl.memory_estimate import (
    DTYPE_BYTES,
    SHARDED,
    GiB,
    MemoryEstimate,
    TrainingSetup,
    estimate_memory,
    model_shape,
    what_would_fit,
)
from kindling.services.experiment_config import Launch
from kindling.services.gpus import Devices

SHAPES_FILE = "model_shapes.yaml"


def shipped_shapes() -> dict[str, dict[str, Any]]:
    """configs/model_shapes.yaml: hub id → config.json fields."""
    from kindling.configs import shipped_configs
    from kindling.store.errors import UserError
    from kindling.store.yaml_io import read_yaml_mapping

    return read_yaml_mapping(shipped_configs() / SHAPES_FILE, "model shapes", UserError)


def model_config(model: str) -> tuple[Any | None, str]:
    """A model's transformers config without network, and where it came from (None: not found).

    A folder's config.json; else the Hugging Face cache (local_files_only); else the shipped table.
    """
    from transformers import AutoConfig

    folder = Path(model).expanduser()
    if folder.is_dir() and (folder / "config.json").is_file():
        return AutoConfig.from_pretrained(str(folder), local_files_only=True), f"{folder}/config.json"
    try:
        return AutoConfig.from_pretrained(model, local_files_only=True), "the Hugging Face cache"
    except (OSError, ValueError):
        pass
    known = shipped_shapes().get(model)
    if known is None:
        return None, (f"no config for {model} (not a folder, not in the Hugging Face cache, not in "
                      f"configs/{SHAPES_FILE})")
    fields = dict(known)
    return AutoConfig.for_model(fields.pop("model_type"), **fields), f"configs/{SHAPES_FILE}"


def base_config(base_model: str, vocab_size: int) -> tuple[Any | None, str]:
    """The config of the experiment's base model: a tiny Qwen2 built here, or a hub id/folder.
    Models made by earlier steps (SFT, GRPO) have the base model's shape."""
    if base_model == "tiny":
        from kindling.rl.tiny_model import tiny_qwen2_config

        return tiny_qwen2_config(vocab_size), f"tiny Qwen2 (vocab {vocab_size})"
    return model_config(base_model)


def accelerate_sharding(path: Path | None, processes: int) -> tuple[str, str]:
    """(sharding as TrainingSetup names it, the words for it) from an accelerate config.

    DEEPSPEED with zero_stage 3 → zero3; FSDP fully sharded → fsdp; MULTI_GPU, or ZeRO-1/2 and
    FSDP's SHARD_GRAD_OP (weights kept whole: counted as replicated, an upper bound) → ddp.
    """
    if processes == 1:
        return "none", "one process"
    if path is None:
        return "ddp", "DDP"
    from kindling.store.errors import UserError
    from kindling.store.yaml_io import read_yaml_mapping

    data = read_yaml_mapping(path, "accelerate config", UserError)
    kind = str(data.get("distributed_type", "NO")).upper()
    if kind == "DEEPSPEED":
        stage = (data.get("deepspeed_config") or {}).get("zero_stage")
        return ("zero3", "DeepSpeed ZeRO-3") if stage == 3 else ("ddp", f"DeepSpeed ZeRO-{stage} (counted as replicated)")
    if kind == "FSDP":
        fsdp = data.get("fsdp_config") or {}
        full = fsdp.get("fsdp_reshard_after_forward", True) in (True, "FULL_SHARD") and \
            str(fsdp.get("fsdp_sharding_strategy", "FULL_SHARD")).upper() in ("FULL_SHARD", "1")
        return ("fsdp", "FSDP full shard") if full else ("ddp", "FSDP without resharding (counted as replicated)")
    return "ddp", "DDP"


def _dtype(trl: Any) -> str:
    return "bf16" if trl.bf16 else "fp16" if getattr(trl, "fp16", False) else "fp32"


def _checkpointing(trl: Any) -> bool:
    value = getattr(trl, "activation_checkpointing", None)
    return bool(value if value is not None else getattr(trl, "gradient_checkpointing", False))


def seq_len(kind: str, kcfg: Any, trl: Any) -> int:
    """Tokens per sequence: max_length (SFT, RM), prompt + completion (GRPO)."""
    if kind == "grpo":
        return int(kcfg.max_prompt_length or 512) + int(trl.max_completion_length or 256)
    return int(getattr(trl, "max_length", None) or 1024)


def training_setup(kind: str, kcfg: Any, trl: Any, launch: Launch, sharding: str) -> TrainingSetup:
    """The step's TrainingSetup from its loaded configs (an RM forwards chosen and rejected
    together: twice the per-device batch)."""
    lora = getattr(kcfg, "lora", None)
    targets = lora.target_modules if lora is not None else "all-linear"
    vllm = 0.0
    if kind == "grpo" and getattr(trl, "use_vllm", False) and trl.vllm_mode == "colocate":
        vllm = float(trl.vllm_gpu_memory_utilization)
    return TrainingSetup(
        dtype=_dtype(trl), lora_r=lora.r if lora is not None else None,  # type: ignore[arg-type]
        lora_target_modules=targets if isinstance(targets, str) else tuple(targets),
        gradient_checkpointing=_checkpointing(trl),
        micro_batch_size=int(trl.per_device_train_batch_size) * (2 if kind == "rm" else 1),
        seq_len=seq_len(kind, kcfg, trl), sharding=sharding,  # type: ignore[arg-type]
        num_devices=launch.processes, vllm_gpu_memory_utilization=vllm,
        head="score" if kind == "rm" else "lm")


@dataclass(frozen=True)
class StepMemory:
    """One training step's estimate per device, with what GRPO adds beside the policy."""

    estimate: MemoryEstimate
    extras: dict[str, int]  # reference model, reward model: bytes per device
    devices: Devices | None
    sharding_words: str

    @property
    def total(self) -> int:
        return self.estimate.total + sum(self.extras.values())

    @property
    def fits(self) -> bool | None:
        """None: no devices to check against."""
        return None if self.devices is None else self.total <= self.devices.memory

    def breakdown(self) -> dict[str, int]:
        parts = {k: v for k, v in self.estimate.breakdown().items() if k != "total"}
        return {**parts, **self.extras, "total": self.total}


def grpo_extras(kind: str, kcfg: Any, trl: Any, setup: TrainingSetup, shape: Any) -> dict[str, int]:
    """GRPO's other models on each device (`other_models`): the reference policy when beta > 0,
    and the reward model for an rm reward."""
    if kind != "grpo":
        return {}
    return other_models(shape, setup, reference=float(getattr(trl, "beta", 0.0) or 0.0) > 0,
                        reward_model="rm" in (kcfg.rewards or {}))


def other_models(shape: Any, setup: TrainingSetup, *, reference: bool,
                 reward_model: bool) -> dict[str, int]:
    """Bytes per device of GRPO's reference policy (not needed with LoRA; sharded like the
    policy) and of its reward model (a whole copy in the training dtype: the base model's shape
    with a score head in place of the LM head)."""
    e = DTYPE_BYTES[setup.dtype]
    out: dict[str, int] = {}
    if reference and not setup.lora_r:
        whole = shape.params * e
        out["reference"] = -(-whole // setup.num_devices) + 2 * shape.layer_params * e \
            if setup.sharding in SHARDED and setup.num_devices > 1 else whole
    if reward_model:
        out["reward model"] = (shape.params - shape.lm_head_params + shape.hidden) * e
    return out


def step_memory(kind: str, kcfg: Any, trl: Any, launch: Launch, accelerate: Path | None,
                config: Any, devices: Devices | None) -> StepMemory:
    """The estimate for one training step (config: the base model's transformers config)."""
    sharding, words = accelerate_sharding(accelerate, launch.processes)
    setup = training_setup(kind, kcfg, trl, launch, sharding)
    shape = model_shape(config)
    if setup.vllm_gpu_memory_utilization and devices is None:
        setup = dataclasses.replace(setup, vllm_gpu_memory_utilization=0.0)
        words += "; vLLM's share not counted (no device size known)"
    estimate = estimate_memory(shape, setup, devices.memory if devices else None)
    return StepMemory(estimate, grpo_extras(kind, kcfg, trl, setup, shape), devices, words)


def fit_suggestions(name: str, memory: StepMemory, config: Any, *, step_set: dict[str, Any],
                    fsdp_config: str, max_devices: int = 8) -> list[str]:
    """What would fit instead, as `--set` lines for the experiment, in what_would_fit's order
    (sharding over the fewest cards, LoRA r=16, gradient checkpointing), then a smaller model;
    each with its estimate per device, GRPO's other models included.

    Args:
        step_set: the step's own `set` (a `--set STEP.set=...` replaces it: kept in the line).
        fsdp_config: an FSDP accelerate config as a `--set` path (relative to the current folder).
    """
    assert memory.devices is not None
    setup, device = memory.estimate.setup, memory.devices.memory
    shape = model_shape(config)

    def total(alternative: TrainingSetup, of: Any = shape) -> int:
        return (estimate_memory(of, alternative, device).total
                + extras_for(memory, alternative, of))

    out: list[str] = []
    first = setup.num_devices + 1 if setup.sharding in SHARDED else max(2, setup.num_devices)
    for n in range(first, max_devices + 1):
        sharded = dataclasses.replace(setup, sharding="fsdp", num_devices=n)
        if total(sharded) <= device:
            out.append(f"--set launch.processes={n} --set launch.accelerate_config={fsdp_config}"
                       f" --set devices.count={n}   # FSDP over {n} cards: "
                       f"{total(sharded) / GiB:.1f} GiB each")
            break
    others = {s.label: s.setup for s in what_would_fit(shape, setup, device, max_devices)}
    lora = others.get("LoRA r=16")
    if lora is not None and total(lora) <= device:
        lora_set = {**step_set, "kindling.lora": {"r": 16, "alpha": 32,
                                                  "target_modules": "all-linear"}}
        out.append(f"--set '{name}.set={_flow(lora_set)}'   # LoRA r=16: "
                   f"{total(lora) / GiB:.1f} GiB")
    ckpt = others.get("gradient checkpointing")
    if ckpt is not None and total(ckpt) <= device:
        ckpt_set = {**step_set, "trl.activation_checkpointing": True}
        out.append(f"--set '{name}.set={_flow(ckpt_set)}'   # gradient checkpointing: "
                   f"{total(ckpt) / GiB:.1f} GiB")
    for model, smaller in smaller_shapes(shape.params):
        if total(setup, smaller) <= device:
            out.append(f"--set base.model={model}   # a smaller model: "
                       f"{total(setup, smaller) / GiB:.1f} GiB")
            break
    return out


def _flow(value: dict[str, Any]) -> str:
    """A mapping as one line of YAML (JSON is YAML) for a --set value."""
    import json

    return json.dumps(value, ensure_ascii=False)


def extras_for(memory: StepMemory, setup: TrainingSetup, shape: Any) -> int:
    """GRPO's other models again, under another setup or model."""
    return sum(other_models(shape, setup, reference="reference" in memory.extras,
                            reward_model="reward model" in memory.extras).values())


def smaller_shapes(params: int) -> list[tuple[str, Any]]:
    """The shipped model shapes smaller than `params`, largest first."""
    from transformers import AutoConfig

    found = []
    for model, fields in shipped_shapes().items():
        fields = dict(fields)
        shape = model_shape(AutoConfig.for_model(fields.pop("model_type"), **fields))
        if shape.params < params:
            found.append((shape.params, model, shape))
    return [(model, shape) for _, model, shape in sorted(found, key=lambda t: -t[0])]
