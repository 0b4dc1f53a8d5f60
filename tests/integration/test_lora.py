"""`kindling.lora`: real TRL SFT, RM and GRPO steps with PEFT LoRA adapters on a tiny model.

Each run saves an adapter (not a full model) and never writes to the base model's folder. The RM
adapter also carries its trained `score` head (modules_to_save). Downstream readers (`kindling eval
rm`, GRPO's `kindling.rm_model`, `kindling train rm --model <adapter folder>`) merge adapters into
their base through peft, following the chain when an RM adapter was trained on an SFT adapter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from kindling.rl.data import preference_dataset, prompt_dataset
from kindling.rl.grpo import _load_reward_model
from kindling.rl.reward_model import load_reward_model, sequence_classifier
from kindling.store.db import Store
from kindling.store.models import Run
from safetensors.torch import load_file
from typer.testing import CliRunner

from kindling.cli import app
from tests.conftest import PaperDB
from tests.integration.helpers import imported_store
from tests.integration.test_train_sft import build_tiny_model

LORA = "  lora: {r: 4, alpha: 8, dropout: 0.0, target_modules: [q_proj, v_proj]}\n"
TRL_COMMON = ("  learning_rate: 5.0e-2\n  logging_steps: 1\n  save_strategy: 'no'\n  bf16: false\n"
              "  use_cpu: true\n  report_to: none\n  seed: 0\n  dataloader_num_workers: 0\n")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, paper_db: PaperDB
       ) -> Iterator[tuple[str, Store, Path]]:
    """The paper data (a copy of the session's import), and a tiny base model whose tokenizer
    knows its characters."""
    folder = tmp_path_factory.mktemp("lora")
    url, store, import_run = imported_store(folder, paper_db)
    pairs = preference_dataset(store, import_run, "rm_train", 64).to_list()
    prompts = [row["prompt"][0]["content"] for row in prompt_dataset(store, "grpo_train", 8)]
    torch.manual_seed(0)
    build_tiny_model(folder / "base", [*[t for r in pairs for t in r.values()], *prompts])
    yield url, store, folder
    store.close()


def cli(url: str, *args: str) -> tuple[int, str]:
    """Run the CLI on the store at `url`: exit code and output with line wrapping undone."""
    result = CliRunner().invoke(app, ["--db-url", url, *args])
    return result.exit_code, " ".join(result.output.split())


def folder_digest(folder: Path) -> str:
    """A hash of every file in `folder` (to show a run never wrote to the base model)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def adapter_tensors(out: Path) -> dict[str, torch.Tensor]:
    """The saved adapter's tensors; the folder must hold an adapter and no full model."""
    assert (out / "adapter_config.json").is_file(), sorted(p.name for p in out.iterdir())
    assert not (out / "model.safetensors").exists()
    return load_file(out / "adapter_model.safetensors")


def last_run(store: Store, kind: str) -> Run:
    """The newest run of `kind`, detached."""
    with store.session() as s:
        run = s.query(Run).filter_by(kind=kind).order_by(Run.id.desc()).first()
        assert run is not None
        s.expunge(run)
        return run


@pytest.fixture(scope="module")
def lora_sft(db: tuple[str, Store, Path]) -> Path:
    """An SFT run with a LoRA adapter on the attention's q and v projections."""
    url, store, folder = db
    cfg = folder / "sft.yaml"
    cfg.write_text(f"kindling:\n  model: {folder / 'base'}\n  limit: 8\n{LORA}"
                   f"trl:\n  output_dir: {folder / 'sft'}\n  max_steps: 3\n"
                   f"  per_device_train_batch_size: 4\n  max_length: 64\n{TRL_COMMON}",
                   encoding="utf-8")
    base_digest = folder_digest(folder / "base")
    code, out = cli(url, "train", "sft", "--config", str(cfg), "--no-progress")
    assert code == 0, out
    assert last_run(store, "sft").status == "finished"
    assert folder_digest(folder / "base") == base_digest
    return folder / "sft"


def test_sft_with_lora_trains_an_adapter_only(db: tuple[str, Store, Path], lora_sft: Path) -> None:
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM

    folder = db[2]
    tensors = adapter_tensors(lora_sft)
    assert tensors and all("lora_A" in k or "lora_B" in k for k in tensors), sorted(tensors)
    assert {k.split(".lora_")[0].rsplit(".", 1)[1] for k in tensors} == {"q_proj", "v_proj"}
    # lora_B starts at zero: a non-zero B means the adapter was trained
    assert any(v.abs().sum() > 0 for k, v in tensors.items() if "lora_B" in k)

    tuned = AutoPeftModelForCausalLM.from_pretrained(lora_sft).eval()
    base = AutoModelForCausalLM.from_pretrained(folder / "base").eval()
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        assert not torch.allclose(tuned(ids).logits, base(ids).logits)
        tuned_base = {k.replace("base_model.model.", "").replace(".base_layer", ""): v
                      for k, v in tuned.state_dict().items() if "lora_" not in k}
        assert all(torch.equal(tuned_base[k], v) for k, v in base.state_dict().items())

    # as a reward model's base (`kindling train rm --model <this output>`): the merged body
    body = sequence_classifier(str(lora_sft)).model.state_dict()
    merged = tuned.merge_and_unload().model.state_dict()
    assert body.keys() == merged.keys() and all(torch.equal(body[k], merged[k]) for k in body)
    assert not torch.equal(body["layers.0.self_attn.q_proj.weight"],
                           base.model.state_dict()["layers.0.self_attn.q_proj.weight"])


@pytest.fixture(scope="module")
def lora_rm(db: tuple[str, Store, Path], lora_sft: Path) -> Path:
    """A reward model trained with LoRA on all linear layers (kindling.lora's default targets),
    starting from the SFT adapter's output (so two adapters stack on the base)."""
    url, store, folder = db
    cfg = folder / "rm.yaml"
    cfg.write_text(f"kindling:\n  model: {lora_sft}\n  pairs_dataset: rm_train\n"
                   "  limit: 32\n  lora: {r: 4, alpha: 8}\n"
                   f"trl:\n  output_dir: {folder / 'rm'}\n  max_steps: 3\n"
                   f"  per_device_train_batch_size: 4\n  max_length: 64\n{TRL_COMMON}",
                   encoding="utf-8")
    code, out = cli(url, "train", "rm", "--config", str(cfg), "--no-progress")
    assert code == 0, out
    assert last_run(store, "rm").status == "finished"
    return folder / "rm"


def test_rm_with_lora_saves_the_score_head_and_loads_downstream(
    db: tuple[str, Store, Path], lora_sft: Path, lora_rm: Path,
) -> None:
    from transformers import AutoModelForSequenceClassification

    url, _, folder = db
    tensors = adapter_tensors(lora_rm)
    config = json.loads((lora_rm / "adapter_config.json").read_text(encoding="utf-8"))
    assert config["task_type"] == "SEQ_CLS" and "score" in config["modules_to_save"]
    assert config["base_model_name_or_path"] == str(lora_sft)
    [score] = [k for k in tensors if k.startswith("base_model.model.score.")]
    assert any("mlp.down_proj.lora_B" in k for k in tensors)  # all-linear reached the MLP

    fresh = AutoModelForSequenceClassification.from_pretrained(folder / "base", num_labels=1)
    for loader in (load_reward_model, _load_reward_model):
        model, tokenizer = loader(str(lora_rm))
        assert type(model) is type(fresh)  # merged: a plain model, no peft wrappers
        assert not any("lora_" in k for k in model.state_dict())
        assert torch.equal(model.score.weight, tensors[score])  # the trained head, not a fresh one
        q_proj = model.model.layers[0].self_attn.q_proj.weight
        assert not torch.equal(q_proj, fresh.model.layers[0].self_attn.q_proj.weight)
        assert tokenizer.pad_token_id is not None

    code, out = cli(url, "eval", "rm", "--model", str(lora_rm), "--limit", "12")
    assert code == 0, out
    assert "pairwise accuracy" in out


def test_grpo_with_lora_and_a_lora_reward_model(
    db: tuple[str, Store, Path], lora_rm: Path,
) -> None:
    url, store, folder = db
    base_digest = folder_digest(folder / "base")
    cfg = folder / "grpo.yaml"
    cfg.write_text(f"kindling:\n  model: {folder / 'base'}\n  limit: 8\n{LORA}"
                   f"  rewards: {{rm: 1.0, guard: 0.5}}\n  rm_model: {lora_rm}\n"
                   f"trl:\n  output_dir: {folder / 'grpo'}\n  max_steps: 2\n  num_generations: 4\n"
                   "  per_device_train_batch_size: 4\n  max_completion_length: 12\n"
                   f"  beta: 0.0\n  loss_type: dr_grpo\n{TRL_COMMON}", encoding="utf-8")
    code, out = cli(url, "train", "grpo", "--config", str(cfg), "--no-progress")
    assert code == 0, out
    run = last_run(store, "grpo")
    assert run.status == "finished"
    steps = [e for e in run.metrics["steps"] if "reward" in e]
    assert [e["step"] for e in steps] == [1, 2]
    assert all("rewards/rm/mean" in e for e in steps)
    tensors = adapter_tensors(folder / "grpo")
    assert any(v.abs().sum() > 0 for k, v in tensors.items() if "lora_B" in k)
    assert folder_digest(folder / "base") == base_digest


def test_lora_adapter_without_its_base_model_is_a_clear_error(
    db: tuple[str, Store, Path], lora_rm: Path, tmp_path: Path,
) -> None:
    import shutil

    url, _, _ = db
    moved = tmp_path / "rm"
    shutil.copytree(lora_rm, moved)
    config = json.loads((moved / "adapter_config.json").read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = str(tmp_path / "gone")
    (moved / "adapter_config.json").write_text(json.dumps(config), encoding="utf-8")
    code, out = cli(url, "eval", "rm", "--model", str(moved), "--limit", "4")
    assert code == 2, out
    assert f"LoRA adapter {moved}: its base model '{tmp_path / 'gone'}'" in out


def test_lora_policy_output_loads_merged_for_eval_and_further_training(
        db: tuple[str, Store, Path], lora_sft: Path) -> None:
    from kindling.rl.policy_loading import load_policy
    from kindling.rl.training_model import load_model_and_tokenizer

    _url, _store, folder = db
    merged, tokenizer = load_policy(lora_sft)
    base, _ = load_policy(folder / "base")
    assert not hasattr(merged, "peft_config") and tokenizer.chat_template
    assert merged.name_or_path == str(lora_sft)  # a LoRA trained on it names the SFT folder
    changed = [k for k, v in base.state_dict().items() if not torch.equal(v, merged.state_dict()[k])]
    assert changed and all("q_proj" in k or "v_proj" in k for k in changed)
    again, _ = load_model_and_tokenizer(str(lora_sft))  # GRPO's policy loader: the same merge
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in merged.state_dict().items())
