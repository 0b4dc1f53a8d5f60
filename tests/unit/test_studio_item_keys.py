"""What the studio says about items and runs in words a web page can use: item keys read as
headings with their meaning, a stepped item's last state, a judged item's warnings, a missing run
without a terminal command, a summary without --full, an evaluation's real start."""

from __future__ import annotations

from datetime import timedelta

from kindling.agents.judge.steps import sample_key
from kindling.store import work
from kindling.store.db import Store
from kindling.store.models import Run, utcnow
from kindling.store.refs import no_run_message
from kindling.store.run_summary import run_summary

from kindling.studio.item_checks import item_warnings
from kindling.studio.items import describe_key, final_state, stepped_judge

STEPPED = Run(kind="judge", config={"item": {"query": "q", "response": "r"}})


def test_keys_read_as_headings_and_say_what_they_mean() -> None:
    curate = Run(kind="curate", config={})
    assert describe_key(curate, "r12") == {"heading": "item r12",
                                           "about": "the stored response 12"}
    assert describe_key(curate, "q3s0")["about"] == "candidate 0 generated for query 3"
    assert describe_key(STEPPED, "item")["heading"] == "item"  # never "item item"
    grpo = Run(kind="grpo", config={})
    assert describe_key(grpo, "17") == {"heading": "judgment 17",
                                        "about": "the stored judgment 17 of this run"}
    hashed = sample_key("q", "r", 0)
    assert describe_key(grpo, hashed)["heading"] == f"judge call {hashed}"
    assert "hash of the query, the response and the sample" in describe_key(grpo, hashed)["about"]
    adversarial = Run(kind="adversarial", config={})
    assert describe_key(adversarial, "it2:det:0")["about"] == "iteration 2, detect, call 0"
    assert stepped_judge(STEPPED) and not stepped_judge(Run(kind="judge", config={}))


def test_a_stepped_item_state_is_its_last_checkpoint() -> None:
    history = [{"changed": {"query": {"before": None, "after": "q"},
                            "response": {"before": None, "after": "r"}}},
               {"changed": {"response": {"before": "r", "after": "edited"}}},
               {"changed": {"verdict": {"before": None, "after": 1},
                            "score": {"before": None, "after": 1.0}}}]
    assert final_state(history) == {"query": "q", "response": "edited", "verdict": 1,
                                    "score": 1.0}
    assert final_state([]) == {}


def _detect(parsed: dict) -> dict:
    prompt = ('{"verdict": "Good" 或 "Bad", "explanation": "依据上述原则的简要理由", '
              '"suggestion": "判为 Bad 时：作者可以如何改进"}\n<<<RESPONSE>>>生日快乐<<<END>>>')
    return {"role": "detect", "parsed_output": parsed, "error": None,
            "input": [{"role": "user", "content": prompt}]}


def test_a_judged_item_warns_of_copied_and_empty_answers_and_of_a_failure() -> None:
    item = {"key": "4", "query": "生日祝福", "response": "生日快乐", "verdict": 1}
    copied = _detect({"verdict": "Good", "explanation": "依据上述原则的简要理由",
                      "suggestion": "判为 Bad 时：作者可以如何改进"})
    out = item_warnings(item, [copied], [], {})
    assert [w.split(" ", 3)[:3] for w in out] == [["detect:", "its", "explanation"],
                                                  ["detect:", "its", "suggestion"]]
    empty = item_warnings(item, [_detect({"verdict": "Good", "explanation": None,
                                          "suggestion": None})], [], {})
    assert empty == ["detect: its explanation is empty"]  # a missing suggestion is allowed
    failed = {"key": "item", "query": "q", "response": "r", "verdict": None, "error": "timeout"}
    assert item_warnings(failed, [], [], {}) == ["the judge failed: timeout"]


def test_a_missing_run_on_a_web_page_names_no_command(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'kindling.db'}")
    work.get_or_create_run(store, kind="sft", run_key=None, config={}, code_version="t")
    assert no_run_message(store, 99).endswith("(`kindling runs` lists its runs)")
    web = no_run_message(store, 99, cli=False)
    assert web.startswith("no run with id 99 in the store") and web.endswith("kindling.db")
    store.close()


def test_an_evaluation_stored_at_its_end_keeps_when_it_began(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'kindling.db'}")
    began = utcnow() - timedelta(seconds=21)
    run, _ = work.get_or_create_run(store, kind="eval", run_key=None, config={},
                                    code_version="t", started_at=began)
    work.finish_run(store, run.id, "finished", {"pairwise": {"n": 3}, "agreement": {}})
    with store.session() as s:
        stored = s.get(Run, run.id)
        assert stored is not None
        lines = dict(run_summary(stored))
    assert lines["finished"].endswith("(21 s)")
    assert lines["more"] == "pairwise, agreement"  # where to read them is the caller's to say
    store.close()


def test_a_runs_summary_counts_logged_steps_without_trls_closing_summary() -> None:
    steps = [{"step": 1, "loss": 0.5}, {"step": 2, "loss": 0.4},
             {"step": 2, "train_loss": 0.45, "train_runtime": 9.0}]
    run = Run(id=1, kind="sft", metrics={"steps": steps}, config={}, status="finished",
              started_at=utcnow())
    assert dict(run_summary(run))["logged steps"] == "2"
