"""The English task slogans-en end to end over real HTTP against the stand-in server: its three
data files imported, Path A on a few labelled slogans (both prompt sets), Path B for one
iteration, the judge, `eval judge` beside the length rule in words, and one GRPO step of a tiny
policy with the judge as its reward. Every command is given `--task slogans-en`; the prompts that
went over the wire are English and name a slogan, and every run records its task."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from kindling.agents.task import TASKS_DIR
from kindling.store.db import Store
from kindling.store.models import AgentCall, Run
from sqlalchemy import select
from typer.testing import CliRunner, Result

from kindling.cli import app
from tests.integration.test_train_sft import build_tiny_model, flat
from tests.standin import StandinConfig, StandinServer

KEY_ENV = "KINDLING_TEST_KEY"
DATA = TASKS_DIR / "slogans-en" / "data"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
TASK = ["--task", "slogans-en"]


def cli(url: str, *args: str) -> Result:
    result = CliRunner().invoke(app, ["--db-url", url, *args])
    assert result.exit_code == 0, result.output
    return result


def endpoint(base_url: str) -> list[str]:
    return ["--backend", "openai", "--base-url", base_url, "--model", "standin",
            "--api-key-env", KEY_ENV]


def prompts_sent(server: StandinServer) -> list[tuple[str, str]]:
    """(role, the text of every message) of each request the stand-in answered."""
    out = []
    for entry in server.requests():
        messages = entry["body"].get("messages") or []
        out.append((entry["role"], "\n".join(str(m.get("content") or "") for m in messages)))
    return out


def assert_english(sent: list[tuple[str, str]], roles: set[str]) -> None:
    """Every role in `roles` was asked, in English, about a slogan."""
    assert roles <= {role for role, _ in sent}, {role for role, _ in sent}
    for role, text in sent:
        assert not CJK.search(text), (role, CJK.findall(text)[:5], text[:300])
        assert "slogan" in text, (role, text[:300])
        assert "[[Task]]" in text or role == "plain", (role, text[:200])


def runs(store: Store, kind: str) -> list[Run]:
    with store.session() as s:
        return list(s.scalars(select(Run).where(Run.kind == kind).order_by(Run.id)))


def recorded_task(run: Run) -> dict[str, Any] | None:
    from kindling.agents.task_ref import recorded_task

    return recorded_task(run.config)


def assert_records_slogans(store: Store, kind: str) -> None:
    found = runs(store, kind)
    assert found, kind
    for run in found:
        task = recorded_task(run)
        assert task is not None and task["name"] == "slogans-en", (kind, run.config)
        assert (task["language"], task["length_unit"]) == ("en", "words")


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "k")


def test_slogans_en_end_to_end(tmp_path: Path, sqlite_url: str, sqlite_store: Store) -> None:
    for file, shape in (("labelled", "labelled"), ("prompts", "prompts"), ("sft", "sft")):
        cli(sqlite_url, "data", "import", "--file", str(DATA / f"{file}.jsonl"), "--as", shape,
            "--dataset", f"slogans-en-{file}")
    listed = flat(cli(sqlite_url, "data", "stats").output)
    for name, rows in (("slogans-en-labelled", 174), ("slogans-en-prompts", 62),
                       ("slogans-en-sft", 82)):
        assert name in listed and str(rows) in listed

    standin = StandinConfig(script="english", script_modules=["tests.standin.english_scripts"],
                            record_bodies=True)
    with StandinServer(standin) as server:
        url = server.base_url
        # Path A: the paper's prompt set, then Kindling's (exemplars from slogans-en-sft, the
        # task's judge principles path_a_judge_slogans_en)
        for prompt_set in ("paper", "kindling"):
            cli(sqlite_url, "curate", *TASK, "--dataset", "slogans-en-labelled", "--limit", "3",
                "--prompt-set", prompt_set, "--no-progress", *endpoint(url))
        sent = prompts_sent(server)
        assert_english(sent, {"advocate", "critic", "judge", "reflect"})
        kindling_advocate = [t for r, t in sent if r == "advocate" and "strength 1" in t]
        assert kindling_advocate and all("[[Examples]]" in t for t in kindling_advocate)
        sft = {json.loads(line)["response"] for line in
               (DATA / "sft.jsonl").read_text(encoding="utf-8").splitlines()}
        assert any(ex in kindling_advocate[0] for ex in sft)  # an exemplar from slogans-en-sft
        assert any("Specific: names a real benefit" in t for r, t in sent if r == "judge")
        server.reset()

        # Path B, one iteration on the task's queries and labelled slogans
        cli(sqlite_url, "adversarial", *TASK, "--iterations", "1", "--batch-size", "2",
            "--set", "query_dataset=slogans-en-prompts", "--set",
            "labelled_dataset=slogans-en-labelled", "--set", "labelled_batch_size=4",
            "--set", "validation_size=6", "--no-progress", *endpoint(url))
        sent = prompts_sent(server)
        assert_english([(r, t) for r, t in sent if r not in ("revise_principles",
                                                               "revise_strategies")],
                       {"generate_flawed", "detect", "reflect_error"})
        assert any("Truthful: every claim is plausible" in t for r, t in sent if r == "detect")
        server.reset()

        # the judge, then eval judge beside the length rule (in words)
        cli(sqlite_url, "judge", *TASK, "--dataset", "slogans-en-labelled", "--limit", "4",
            "--principles", "detector_slogans_en", *endpoint(url))
        evaluated = flat(cli(sqlite_url, "eval", "judge", *TASK, "--dataset",
                             "slogans-en-labelled", "--principles", "detector_slogans_en",
                             "--limit", "12", "--set", "llm.backend=openai", "--set",
                             f"llm.base_url={url}", "--set", "llm.model=standin", "--set",
                             f"llm.api_key_env={KEY_ENV}").output)
        # the length rule fitted in words: good iff more than 5 words (57.5% on all 174, DATA.md);
        # in characters it would be a threshold near 49
        assert "len>5 " in evaluated and "judge 12 " in evaluated
        assert_english(prompts_sent(server), {"detect"})
        server.reset()

        # one GRPO step of a tiny policy, the judge (on slogans-en) its only reward
        queries = [json.loads(line)["query"] for line in
                   (DATA / "prompts.jsonl").read_text(encoding="utf-8").splitlines()[:4]]
        torch.manual_seed(0)
        build_tiny_model(tmp_path / "policy", [*queries, *SLOGAN_TEXTS])
        config = tmp_path / "grpo.yaml"
        config.write_text(
            f"kindling:\n  model: {tmp_path / 'policy'}\n"
            "  dataset: slogans-en-prompts\n  limit: 4\n  rewards: {judge: 1.0}\n"
            f"  judge:\n    principles: detector_slogans_en\n"
            f"    llm: {{backend: openai, base_url: '{url}', model: standin, "
            f"api_key_env: {KEY_ENV}, timeout_s: 5, max_retries: 1, backoff_initial_s: 0.01}}\n"
            f"trl:\n  output_dir: {tmp_path / 'out'}\n  max_steps: 1\n  num_generations: 4\n"
            "  per_device_train_batch_size: 4\n  max_completion_length: 8\n  logging_steps: 1\n"
            "  save_strategy: 'no'\n  bf16: false\n  use_cpu: true\n  report_to: none\n"
            "  seed: 0\n  dataloader_num_workers: 0\n", encoding="utf-8")
        cli(sqlite_url, "train", "grpo", *TASK, "--config", str(config), "--no-progress")
        sent = prompts_sent(server)
        assert_english(sent, {"detect"})

    grpo = runs(sqlite_store, "grpo")[-1]
    assert grpo.status == "finished" and grpo.metrics["judge_stats"]["items"] == 4
    with sqlite_store.session() as s:
        templates = set(s.scalars(select(AgentCall.template)))
    assert templates and all(t.endswith(".en.jinja") for t in templates), templates
    for kind in ("curate", "adversarial", "judge", "grpo"):
        assert_records_slogans(sqlite_store, kind)
    evaluation = runs(sqlite_store, "eval")[-1]  # its judge run records the task
    assert evaluation.config["threshold"] == 5 and evaluation.config["ids"] == [runs(
        sqlite_store, "judge")[-1].id]
    # the first judge run, evaluated with no --dataset or --task: its own dataset and task
    first = runs(sqlite_store, "judge")[0].id
    again = flat(cli(sqlite_url, "eval", "judge", "--judge-run", str(first)).output)
    assert "on slogans-en-labelled:" in again and "len>5 " in again, again


SLOGAN_TEXTS = ["Still ice-cold at the summit.", "Rent, ramen, and a little left over."]
