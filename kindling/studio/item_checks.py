"""What to tell a person about one judged item: its label against the verdict, and warnings.

Warnings name what makes a verdict untrustworthy on sight: an agent answer that is empty or copied
word for word from its own prompt (the offline SmolLM2 copies the template's example reasons,
such as "质量判定"), a reflector whose `overturned` flag contradicts its verdict, a failure, and
a state edit that happened after some nodes had already run on the old value.
"""

from __future__ import annotations

from typing import Any

MIN_COPIED = 4
"""Shortest answer (characters) that counts as copied when its prompt holds it outside the text
being judged (a format placeholder in quotes, such as "最终理由", counts at any length)."""
TEXT_FIELDS = ("candidate", "query", "response")
"""State fields that are the text being judged: an edit of one invalidates earlier analyses."""


def label_view(item: dict[str, Any]) -> dict[str, Any] | None:
    """The item's label and whether the verdict agrees: {value, dataset, verdict, agrees}.

    None when no dataset labels the item's text.
    """
    labels = item.get("labels") or {}
    if not labels:
        return None
    dataset, value = sorted(labels.items())[0]
    verdict = item.get("verdict")
    if isinstance(verdict, dict):  # a curate item: the verdict row
        verdict = verdict.get("final")
    agrees = None if verdict is None else int(verdict) == int(value)
    return {"value": value, "dataset": dataset, "verdict": verdict, "agrees": agrees,
            "others": {k: v for k, v in labels.items() if k != dataset}}


def item_warnings(item: dict[str, Any], calls: list[dict[str, Any]],
                  history: list[dict[str, Any]], run_config: dict[str, Any]) -> list[str]:
    """Plain-language warnings about the item's answers and how it was run."""
    verdict = item.get("verdict")
    initial = verdict.get("initial") if isinstance(verdict, dict) else None
    judged = f"{item.get('query') or ''}\n{item.get('response') or ''}"
    out = _verdict_warnings(item)
    for call in calls:
        out += _call_warnings(call, initial, judged)
    out += _edit_warnings(history, run_config)
    return list(dict.fromkeys(out))


def _verdict_warnings(item: dict[str, Any]) -> list[str]:
    verdict = item.get("verdict")
    if not isinstance(verdict, dict):  # a judgment: its verdict is a number, or it failed
        return [f"the judge failed: {item['error']}"] if item.get("error") else []
    out = []
    if verdict.get("error"):
        out.append(f"the item failed: {verdict['error']}")
    if verdict.get("status") == "ok":
        if not verdict.get("pros"):
            out.append("the advocate found no strengths (empty list): the judge weighed "
                       "the critic's side only")
        if not verdict.get("cons"):
            out.append("the critic found no weaknesses (empty list): the judge weighed "
                       "the advocate's side only")
    return out


def _call_warnings(call: dict[str, Any], initial: int | None, judged: str) -> list[str]:
    parsed = call.get("parsed_output")
    if call.get("error") or not isinstance(parsed, dict):
        return []
    role, prompt = call.get("role", "agent"), _prompt_text(call.get("input"))
    out = []
    for field, answer in _answers(parsed):
        if not answer:
            out.append(f"{role}: its {field} is empty")
        elif copied(answer, prompt, judged):
            out.append(f"{role}: its {field} {answer[:60]!r} is copied word for word from its "
                       "prompt (a template or example phrase), not an answer about this text")
    if call.get("role") == "reflect" and "overturned" in parsed and initial is not None:
        out += _overturn_warning(parsed, initial)
    return out


def copied(answer: str, prompt: str, judged: str) -> bool:
    """Whether an answer is the prompt's own words: a quoted placeholder of its output format
    ("reason": "最终理由"), or a phrase of MIN_COPIED+ characters found in the prompt but not in
    the text being judged (the template's instructions or worked example)."""
    if f'"{answer}"' in prompt or f"“{answer}”" in prompt:
        return True
    return len(answer) >= MIN_COPIED and answer in prompt and answer not in judged


def _overturn_warning(parsed: dict[str, Any], initial: int) -> list[str]:
    """The reflector's own flag against what its verdict did to the judge's `initial` one."""
    did = parsed["verdict"] != initial
    if bool(parsed["overturned"]) == did:
        return []
    return [f"reflect: says overturned {str(parsed['overturned']).lower()} but its verdict "
            f"{parsed['verdict']} {'changes' if did else 'keeps'} the judge's {initial}; "
            f"the stored state counts what the verdict did (overturned {str(did).lower()})"]


def _answers(parsed: dict[str, Any]) -> list[tuple[str, str]]:
    """The free-text parts of an agent's answer: reasons, explanations, each point."""
    out = [(k, "" if v is None else v.strip()) for k, v in parsed.items()
           if k in ("reason", "explanation") and isinstance(v, str | type(None))]
    if isinstance(parsed.get("suggestion"), str) and parsed["suggestion"].strip():
        out.append(("suggestion", parsed["suggestion"].strip()))  # optional: checked if given
    for key in ("points", "pros", "cons"):
        for i, point in enumerate(parsed.get(key) or []):
            text = point.get("point", "") if isinstance(point, dict) else str(point)
            out.append((f"{key}[{i}]", str(text).strip()))
    return out


def _prompt_text(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    return "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))


def _edit_warnings(history: list[dict[str, Any]], run_config: dict[str, Any]) -> list[str]:
    out: list[str] = []
    ran: list[str] = []
    for step in history:
        if "(edit)" in step["ran"]:
            fields = list(step["changed"])
            stale = [f for f in fields if f in TEXT_FIELDS]
            if stale and ran:
                out.append(f"{', '.join(stale)} was edited after {', '.join(dict.fromkeys(ran))} "
                           "ran: their outputs are about the earlier text")
            elif fields:
                out.append(f"state edited by hand before {', '.join(step['next']) or 'the end'}:"
                           f" {', '.join(fields)}")
        ran += [n for n in step["ran"] if not n.startswith("(")]
    fork = run_config.get("forked_from")
    if isinstance(fork, dict):
        out.append(f"forked from run {fork.get('run_id')} at checkpoint "
                   f"{str(fork.get('checkpoint_id'))[:12]}: nodes before it ran in that run")
    return out
