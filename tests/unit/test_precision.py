"""Mixed precision keeps fp32 master weights: a full fine-tune loads in float32 whatever the
checkpoint's dtype; LoRA's frozen base loads in the compute dtype."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from kindling.rl.precision import weight_dtype


def test_a_full_fine_tune_trains_fp32_master_weights() -> None:
    assert weight_dtype(None, SimpleNamespace(bf16=True, fp16=False)) is torch.float32
    assert weight_dtype(None, SimpleNamespace(bf16=False, fp16=False)) is torch.float32


def test_lora_loads_its_frozen_base_in_the_compute_dtype() -> None:
    lora = object()
    assert weight_dtype(lora, SimpleNamespace(bf16=True, fp16=False)) is torch.bfloat16
    assert weight_dtype(lora, SimpleNamespace(bf16=False, fp16=True)) is torch.float16
    assert weight_dtype(lora, SimpleNamespace(bf16=False, fp16=False)) is torch.float32


def test_a_bf16_checkpoint_trains_in_fp32(tmp_path) -> None:
    """A policy saved in bf16 (as a Qwen2.5 checkpoint is) loads for a full fine-tune in fp32."""
    from kindling.rl.training_model import load_model_and_tokenizer

    from kindling.services.training import build_tiny_model

    build_tiny_model(["生日快乐！愿你被世界温柔以待。", "新年快乐！万事胜意。"] * 20,
                     tmp_path / "tiny", vocab_size=300)
    model, _ = load_model_and_tokenizer(str(tmp_path / "tiny"))
    model.to(torch.bfloat16).save_pretrained(tmp_path / "tiny")  # now a bf16 checkpoint
    as_is, _ = load_model_and_tokenizer(str(tmp_path / "tiny"))
    assert as_is.dtype is torch.bfloat16  # what training would have used before
    full, _ = load_model_and_tokenizer(str(tmp_path / "tiny"),
                                       weight_dtype(None, SimpleNamespace(bf16=True)))
    assert full.dtype is torch.float32


def test_frozen_models_load_in_the_compute_dtype() -> None:
    from kindling.rl.precision import frozen_reference_in_compute_dtype

    bf16 = SimpleNamespace(bf16=True, fp16=False, model_init_kwargs=None)
    frozen_reference_in_compute_dtype(bf16)  # TRL would build the reference in fp32 otherwise
    assert bf16.model_init_kwargs == {"dtype": "bfloat16"}
    own = SimpleNamespace(bf16=True, fp16=False, model_init_kwargs={"dtype": "float32"})
    frozen_reference_in_compute_dtype(own)
    assert own.model_init_kwargs == {"dtype": "float32"}  # the user's choice stays
    fp32 = SimpleNamespace(bf16=False, fp16=False, model_init_kwargs=None)
    frozen_reference_in_compute_dtype(fp32)
    assert fp32.model_init_kwargs is None


def test_a_lora_reward_models_score_head_keeps_fp32_master_weights() -> None:
    from kindling.rl.precision import trainable_head_in_fp32

    model = torch.nn.Module()
    model.body = torch.nn.Linear(4, 4).to(torch.bfloat16)
    model.score = torch.nn.Linear(4, 1).to(torch.bfloat16)
    trainable_head_in_fp32(model)
    assert model.score.weight.dtype is torch.float32 and model.body.weight.dtype is torch.bfloat16
