"""What the studio tells a person about one item: label vs verdict, and each warning's rule."""

from __future__ import annotations

from kindling.studio.item_checks import copied, item_warnings, label_view

PROMPT = ('你是祝福语质量的复核专家。给出最终判定和最终理由。\n只输出 JSON：{"verdict": 0 或 1, '
          '"reason": "最终理由", "overturned": true 或 false}\n<<<RESPONSE>>>生日快乐，语言流畅<<<END>>>')


def _call(role: str, parsed: dict, prompt: str = PROMPT) -> dict:
    return {"role": role, "parsed_output": parsed, "error": None,
            "input": [{"role": "user", "content": prompt}]}


def _item(**verdict) -> dict:
    base = {"status": "ok", "initial": 0, "final": 0, "pros": ["好"], "cons": ["短"],
            "error": None}
    return {"key": "r1", "query": "生日祝福", "response": "生日快乐，语言流畅",
            "verdict": {**base, **verdict}, "labels": {"evaluation_set": 1}}


def test_label_view_says_whether_the_verdict_agrees() -> None:
    assert label_view(_item(final=1))["agrees"] is True
    assert label_view(_item(final=0)) == {"value": 1, "dataset": "evaluation_set", "verdict": 0,
                                          "agrees": False, "others": {}}
    assert label_view(_item(final=None))["agrees"] is None  # failed: nothing to agree with
    assert label_view({"verdict": 1, "labels": {}}) is None
    judged = {"verdict": 1, "labels": {"b": 0, "a": 1}}  # a judge item: verdict is a number
    assert label_view(judged)["dataset"] == "a" and label_view(judged)["others"] == {"b": 0}


def test_copied_answers_are_placeholders_or_template_phrases_not_words_of_the_text() -> None:
    assert copied("最终理由", PROMPT, "生日快乐")  # the format's quoted placeholder
    assert copied("复核专家", PROMPT, "生日快乐")  # 4+ characters of the instructions
    assert not copied("流畅", PROMPT, "生日快乐，语言流畅")  # two characters: common words
    assert not copied("语言流畅", PROMPT, "生日快乐，语言流畅")  # quoting the judged text is fine
    assert not copied("祝福很真诚", PROMPT, "生日快乐")  # not in the prompt at all


def test_warnings_name_empty_sides_copied_reasons_and_a_contradicting_overturn() -> None:
    item = _item(initial=1, final=1, pros=[])
    calls = [_call("advocate", {"points": []}),
             _call("reflect", {"verdict": 1, "reason": "最终理由", "overturned": True})]
    warnings = item_warnings(item, calls, [], {})
    assert any("advocate found no strengths" in w for w in warnings)
    assert any("reflect: its reason '最终理由' is copied" in w for w in warnings)
    assert any("says overturned true but its verdict 1 keeps the judge's 1" in w
               for w in warnings)
    assert not any("critic found no weaknesses" in w for w in warnings)


def test_a_consistent_item_has_no_warnings() -> None:
    calls = [_call("judge", {"verdict": 0, "reason": "太短，缺少真情实感"}),
             _call("reflect", {"verdict": 0, "reason": "维持原判", "overturned": False})]
    assert item_warnings(_item(), calls, [], {}) == []


def test_an_overturn_that_says_so_is_fine() -> None:
    calls = [_call("reflect", {"verdict": 1, "reason": "有真情", "overturned": True})]
    assert item_warnings(_item(initial=0, final=1), calls, [], {}) == []


def test_a_failed_item_says_why() -> None:
    warnings = item_warnings(_item(status="failed", final=None, error="judge: timeout"), [], [],
                             {})
    assert warnings == ["the item failed: judge: timeout"]


def _step(ran: list[str], nxt: list[str], changed: dict | None = None) -> dict:
    return {"ran": ran, "next": nxt, "changed": changed or {}}


def test_an_edit_after_the_debate_says_its_points_were_about_the_old_text() -> None:
    history = [_step(["(input)"], ["retrieve_exemplars"]),
               _step(["retrieve_exemplars"], ["advocate", "critic"]),
               _step(["advocate", "critic"], ["judge"]),
               _step(["(edit)"], ["judge"], {"candidate": {"before": "a", "after": "b"}})]
    [warning] = item_warnings({"key": "r1"}, [], history, {})
    assert warning.startswith("candidate was edited after retrieve_exemplars, advocate, critic ran")


def test_an_edit_before_any_node_ran_is_only_noted() -> None:
    history = [_step(["(edit)"], ["retrieve_exemplars"], {"candidate": {"before": 1, "after": 2}})]
    assert item_warnings({"key": "r1"}, [], history, {}) == [
        "state edited by hand before retrieve_exemplars: candidate"]


def test_a_fork_says_where_it_came_from() -> None:
    config = {"forked_from": {"run_id": 4, "item_key": "r1", "checkpoint_id": "1ef0abcdef0123456"}}
    [warning] = item_warnings({"key": "r1"}, [], [], config)
    assert warning.startswith("forked from run 4 at checkpoint 1ef0abcdef01:")
