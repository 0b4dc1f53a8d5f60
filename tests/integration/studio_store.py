"""A small store with one run of each kind, for the studio's API and browser tests.

Graph runs are real: the curate run goes through the compiled curate graph (checkpoints, agent
calls, verdicts) with a scripted chat model, the judge run through JudgeService. The rest are
rows written with the store's own functions (training steps as StoreMetricsCallback writes them,
eval metrics as the eval commands compute them).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kindling.agents.curate.config import CurateConfig
from kindling.agents.judge.config import JudgeConfig
from kindling.agents.judge.service import build_judge_service, resolve_judge
from kindling.rl.evaluate.metrics import judge_report
from kindling.rl.evaluate.policy import policy_metrics
from kindling.rl.evaluate.reward_model import pairwise_report
from kindling.store import principles as pv
from kindling.store import work
from kindling.store.calls import CallLog
from kindling.store.completion_samples import SampleRow, write_step_samples
from kindling.store.db import Store
from kindling.store.models import Query, Run, text_hash
from sqlalchemy import select

from kindling.services.curate import CurateRunner
from tests.fakes import ScriptedChatModel, default_scripts, seed_tiny_data

XSS = "<script>alert(1)</script>"
ITEMS = [("生日祝福", "生日快乐", 0),
         ("生日祝福", "亲爱的朋友，生日快乐！愿你新的一岁眼里有光、心中有爱，所求皆如愿，所行皆坦途，岁岁常欢愉。", 1),
         ("新年祝福", f"新年好{XSS}", 0)]


@dataclass
class StudioStore:
    url: str
    store: Store
    runs: dict[str, int]
    versions: list[int]


def _scripts() -> dict:
    scripts = default_scripts()
    judge = scripts["judge"]

    def judge_with_markup(prompt: str) -> str:  # model output carrying markup, kept as text
        answer = json.loads(judge(prompt))
        return json.dumps({**answer, "reason": answer["reason"] + " " + XSS}, ensure_ascii=False)

    def detect(prompt: str) -> str:
        text = prompt.split("<<<RESPONSE>>>", 1)[1].split("<<<END>>>", 1)[0].strip()
        return json.dumps({"verdict": "Good" if len(text) >= 40 else "Bad",
                           "explanation": f"{len(text)} 字"}, ensure_ascii=False)

    return {**scripts, "judge": judge_with_markup, "detect": detect}


def _degenerate_scripts() -> dict:
    """What the offline 135M model does: no strengths, a judge that likes everything, and a
    reflector that copies its template's placeholder and says it overturned what it kept."""
    scripts = default_scripts()

    def reflect(prompt: str) -> str:
        initial = int(prompt.rsplit("initial_verdict:", 1)[1].strip()[0])
        return json.dumps({"verdict": initial, "reason": "最终理由", "overturned": True},
                          ensure_ascii=False)

    return {**scripts, "advocate": lambda p: json.dumps({"points": []}),
            "judge": lambda p: json.dumps({"verdict": 1, "reason": "好"}), "reflect": reflect}


def _finished(store: Store, kind: str, config: dict, metrics: dict) -> int:
    run, _ = work.get_or_create_run(store, kind=kind, run_key=None, config=config,
                                    code_version="test")
    work.finish_run(store, run.id, "finished", metrics)
    return run.id


def _training_steps(n: int) -> list[dict]:
    return [{"step": i, "epoch": i / n, "loss": 2.0 / i, "reward": 0.1 * i,
             "completions/mean_length": 40 + i, "learning_rate": 1e-4} for i in range(1, n + 1)]


def _grpo_steps(n: int) -> list[dict]:
    """GRPO steps with the watch signals rl/watch.py logs: length drifting up, texts alike."""
    return [step | {"watch/length_chars": 40.0 + 6 * i, "watch/length_drift": 0.15 * i - 0.1,
                    "watch/reward_length_corr": 0.2 + 0.05 * i, "watch/distinct_2": 0.7 - 0.05 * i,
                    "watch/self_bleu": 30.0 + 5 * i}
            for i, step in enumerate(_training_steps(n), 1)]


GRPO_ALERT = {"step": 5, "metric": "length_drift", "value": 0.65, "action": "warn",
              "rule": f"length_drift > 0.3 for 3 steps {XSS}"}


def _sample(position: int, prompt: str, text: str, reward: float, tokens: int,
            cap: int = 64) -> SampleRow:
    return SampleRow(position=position, prompt=prompt, completion=text,
                     rewards={"rm": reward, "length_control": 0.0}, reward=reward,
                     advantage=round(reward - 0.5, 3), chars=len(text), tokens=tokens,
                     hit_cap=tokens >= cap)


def _add_samples(store: Store, run_id: int, steps: int, cap: int = 64) -> None:
    """Two completions per logged step, as the GRPO callback keeps them: longer at each step
    (the last step's second one carries markup, kept as text)."""
    for i in range(1, steps + 1):
        tail = XSS if i == steps else ""
        write_step_samples(store, run_id, i, [
            _sample(0, "写一条生日祝福", "祝你生日快乐" + "，万事如意" * i, 0.1 * i,
                    min(8 * i, cap), cap),
            _sample(4, "写一条新年祝福", "新年快乐" * i + tail, 0.05 * i, min(6 * i, cap), cap)])


def _capped_run(store: Store) -> int:
    """An RM-only GRPO run that ran into its 16-token cap: from step 4 on every completion is
    cut there, and the length stops growing."""
    steps = [{"step": i, "epoch": i / 6, "reward": 1.0 + 0.4 * i, "reward_std": 0.2,
              "frac_reward_zero_std": 0.0, "rewards/rm/mean": 1.0 + 0.4 * i,
              "completions/mean_length": min(4.0 * i, 16.0),
              "completions/clipped_ratio": min(0.3 * i, 1.0) if i < 4 else 1.0,
              "watch/length_chars": 20.0 + 20 * min(i, 4), "watch/distinct_2": 0.8,
              "watch/self_bleu": 20.0} for i in range(1, 7)]
    run_id = _finished(store, "grpo", {"kindling": {"rewards": {"rm": 1.0}},
                                       "trl": {"max_steps": 6, "max_completion_length": 16}},
                       {"steps": steps})
    work.rename_run(store, run_id, "grpo-rm capped")
    _add_samples(store, run_id, 6, cap=16)
    return run_id


def _flat_run(store: Store) -> int:
    """A GRPO run whose reward was 0 at every step (a judge that calls everything bad)."""
    steps = [{"step": i, "epoch": i / 3, "reward": 0.0, "reward_std": 0.0,
              "frac_reward_zero_std": 1.0, "rewards/judge/mean": 0.0,
              "completions/mean_length": 10.0, "completions/clipped_ratio": 0.0,
              "watch/length_chars": 30.0} for i in range(1, 4)]
    run_id = _finished(store, "grpo", {"kindling": {"rewards": {"judge": 1.0}},
                                       "trl": {"max_steps": 3, "max_completion_length": 64}},
                       {"steps": steps})
    work.rename_run(store, run_id, "grpo-judge flat")
    return run_id


def _eval_runs(store: Store) -> dict[str, int]:
    y_true, y_pred, lengths = [1, 0, 1, 0, 1, 1], [1, 0, 0, 0, 1, 1], [50, 10, 45, 20, 70, 30]
    judge = judge_report(y_true, y_pred, lengths, [True, False, True, True, False, True])
    judge |= {"threshold": 39, "fitted": None, "coverage": {"labelled": 6, "scored": 6}}
    agreement = judge_report(y_true, y_pred, lengths, [True] * 6) | {"threshold": 39}
    pairwise = pairwise_report([1.0, 2.0, 0.5], [0.0, 3.0, 0.1], [50, 30, 60], [20, 40, 10],
                               [True, False, True])
    policies = {"sft": policy_metrics(["生日快乐", "新年快乐万事如意"], length_threshold=39),
                "grpo": policy_metrics(["祝你" * 25, "新年好"], judge_verdicts=[1, 0],
                                       length_threshold=39)}
    return {
        "eval_judge": _finished(store, "eval", {"source": "judge", "ids": [1]}, judge),
        "eval_rm": _finished(store, "eval", {"source": "rm"},
                             {"pairwise": pairwise, "agreement": agreement}),
        "eval_policy": _finished(store, "eval", {"source": "policy", "length_threshold": 39},
                                 {"policies": policies}),
    }


def _adversarial_run(store: Store, parent: int) -> tuple[int, list[int]]:
    run_id = _finished(store, "adversarial", {"iterations": 1}, {"iterations": 1})
    calls = CallLog(store, run_id)
    for key, role in (("it1:gen:0", "generate_flawed"), ("it1:det:0", "detect")):
        calls.record({"item_key": key, "role": role, "template": f"adversarial/{role}",
                      "template_hash": "t", "principle_version_id": parent, "model": "scripted",
                      "input": [{"role": "user", "content": f"写一条 {XSS}"}],
                      "raw_output": '{"verdict": "Bad"}', "parsed_output": {"verdict": 0},
                      "latency_ms": 12.5, "prompt_tokens": 10, "completion_tokens": 5,
                      "attempt": 1, "error": None})
    calls.flush()
    child = pv.register_version(store, kind="detector", name=f"run{run_id}-it1",
                                text="规则一\n规则二（改）\n规则三", origin="optimizer",
                                parent_id=parent, run_id=run_id, iteration=1,
                                metrics={"f1": 0.8, "accuracy": 0.75,
                                         "length_baseline": {"f1": 0.85, "accuracy": 0.9}})
    return run_id, [child]


def build_studio_store(folder: Path) -> StudioStore:
    """The store: import, curate (real graph), judge, adversarial, sft, rm, grpo and eval runs."""
    url = f"sqlite:///{folder / 'kindling.db'}"
    store = Store(url)
    seed_tiny_data(store, ITEMS, labels=True)
    model = ScriptedChatModel(scripts=_scripts())
    asyncio.run(CurateRunner(store, CurateConfig(), chat_models={"agents": model},
                             show_progress=False).run())
    with store.session() as s:
        runs = {kind: s.scalars(select(Run.id).where(Run.kind == kind)).one()
                for kind in ("import", "curate")}
    second = CurateRunner(store, CurateConfig(), new_run=True, show_progress=False,
                          chat_models={"agents": ScriptedChatModel(scripts=_degenerate_scripts())},
                          name="likes everything")
    runs["curate_b"] = asyncio.run(second.run()).run_id
    judge_run = work.get_or_create_run(store, kind="judge", run_key=None, config={},
                                       code_version="test")[0].id
    service = build_judge_service(store, resolve_judge(store, JudgeConfig()), judge_run, chat_model=model)
    asyncio.run(service.judge_many([(q, r) for q, r, _ in ITEMS]))
    work.finish_run(store, judge_run, "finished", {"judged": len(ITEMS)})
    runs["judge"] = judge_run
    root = pv.register_version(store, kind="detector", name=f"rules {XSS}",
                               text="规则一\n规则二\n规则三", origin="file")
    runs["adversarial"], children = _adversarial_run(store, root)
    for kind, n in (("sft", 12), ("rm", 6)):
        runs[kind] = _finished(store, kind, {"trl": {"max_steps": n}}, {"steps": _training_steps(n)})
    runs["grpo"] = _finished(store, "grpo", {"trl": {"max_steps": 8}}, {
        "steps": _grpo_steps(8), "watch_alerts": [GRPO_ALERT],
        "watch": {"rules": ["length_drift > 0.3 for 3 steps → warn"],
                  "reference": {"chars": 46.0, "source": "first batch", "band": None}}})
    _add_samples(store, runs["grpo"], 8)
    runs["grpo_capped"], runs["grpo_flat"] = _capped_run(store), _flat_run(store)
    runs |= _eval_runs(store)
    return StudioStore(url, store, runs, [root, *children])


def add_big_run(store: Store, n: int = 10_000) -> int:
    """A curate run holding `n` pending items (nothing judged yet)."""
    run, _ = work.get_or_create_run(store, kind="curate", run_key=None, config={},
                                    code_version="test")
    with store.session() as s:
        query = Query(text="大运行", text_hash=text_hash("大运行"))
        s.add(query)
        s.flush()
        qid = query.id
    work.add_items(store, run.id, [{"item_key": f"r{i}", "query_id": qid} for i in range(n)])
    return run.id


# --- judged items: GRPO with the judge as its reward, and a judge run stepped in the debugger ---

COPIED_REASON = "依据上述原则的简要理由"
"""The Detector template's own placeholder for its explanation: what the offline 135M model
writes back instead of a reason."""
GRPO_JUDGED = [("写一条生日祝福", "生日快乐，愿你天天开心，万事如意，心想事成，岁岁平安，前程似锦，幸福美满。"),
               ("写一条新年祝福", "新年快乐")]
STEPPED_TEXT = ("康复祝福", "祝你早日康复，身体健健康康，我们都等你回来一起爬山。")
SAMPLE_SLEEPS = (0.09, 0.03, 0.01)
"""Seconds each of a text's three Detector samples takes (in turn), so its latency bars differ."""


def _copying_detector() -> ScriptedChatModel:
    """A Detector that calls long texts good, copies its template's placeholder as the reason,
    and takes a different time for each sample."""
    calls = iter(range(10_000))

    def detect(prompt: str) -> str:
        time.sleep(SAMPLE_SLEEPS[next(calls) % len(SAMPLE_SLEEPS)])
        text = prompt.split("<<<RESPONSE>>>", 1)[1].split("<<<END>>>", 1)[0].strip()
        return json.dumps({"verdict": "Good" if len(text) >= 20 else "Bad",
                           "explanation": COPIED_REASON}, ensure_ascii=False)

    return ScriptedChatModel(scripts={"detect": detect})


def add_grpo_judge_run(store: Store) -> int:
    """A GRPO run whose reward is the LLM judge, as rl/grpo.py makes it: the judge service
    records its judgments and Detector calls (three samples a text, one at a time) under the
    training run."""
    run_id = _finished(store, "grpo", {"kindling": {"rewards": ["judge"]},
                                       "trl": {"max_steps": 2}}, {"steps": _training_steps(2)})
    work.rename_run(store, run_id, "grpo-judge")
    service = build_judge_service(store, resolve_judge(store, JudgeConfig(samples=3, concurrency=1)), run_id,
                                  chat_model=_copying_detector())
    asyncio.run(_judge_and_close(service, GRPO_JUDGED))
    return run_id


async def _judge_and_close(service: Any, items: list[tuple[str, str]]) -> None:
    await service.judge_many(items)
    await service.aclose()


def add_stepped_judge_run(store: Store, text: tuple[str, str] = STEPPED_TEXT) -> int:
    """A judge run of one (query, response) stepped node by node to its end, as the studio's
    debugger does (a text judged before under the same settings reuses that judgment)."""
    from kindling.graphs.registry import compile_graph

    from kindling.checkpoints import open_checkpointer
    from kindling.debugger.session import StepSession
    from kindling.debugger.targets import judge_target

    async def step() -> int:
        target = judge_target(store, JudgeConfig(), *text, chat_model=_copying_detector())
        async with open_checkpointer(store.url) as saver:
            session = StepSession(compile_graph("judge", saver), target)
            stop = await session.begin()
            while not stop.finished:
                stop = await session.advance(step=True)
        await target.close()
        return target.run_id

    return asyncio.run(step())
