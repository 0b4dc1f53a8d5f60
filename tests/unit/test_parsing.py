import pytest
from kindling.agents.curate.schemas import DebatePoints, JudgeVerdict
from kindling.agents.llm.parsing import OutputParseError, parse_output


@pytest.mark.parametrize(
    "raw",
    [
        '{"verdict": 1, "reason": "好"}',
        '```json\n{"verdict": 1, "reason": "好"}\n```',
        '判定如下：\n```\n{"verdict": 1, "reason": "好"}\n```\n以上。',
        'Sure! {"verdict": 1, "reason": "好"} Hope this helps.',
        '{"judge": 1, "reason": "好"}',
        '{"verdict": 1, "reason": "好",}',
        '{"verdict": 1, "reason": "好"',
    ],
)
def test_tolerates_fences_chatter_aliases_and_repairable_json(raw: str) -> None:
    parsed = parse_output(raw, JudgeVerdict)
    assert parsed.verdict == 1 and parsed.reason == "好"


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ("I think it is good.", "no JSON object"),
        ('{"verdict": 2, "reason": "x"}', "verdict"),
        ('{"reason": "x"}', "verdict"),
        ("", "no JSON object"),
    ],
)
def test_rejects_with_a_reason_to_re_ask(raw: str, needle: str) -> None:
    with pytest.raises(OutputParseError, match=needle):
        parse_output(raw, JudgeVerdict)


def test_lists_validate_and_bound() -> None:
    assert parse_output('{"points": ["a", "b"]}', DebatePoints).points == ["a", "b"]
    with pytest.raises(OutputParseError):
        parse_output('{"points": ["a","b","c","d","e","f","g"]}', DebatePoints)
