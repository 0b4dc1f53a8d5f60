import pytest
from kindling.agents.adversarial.logic import improved, normalize_rules, stop_reason
from kindling.agents.adversarial.schemas import RuleSet
from pydantic import ValidationError


def test_normalize_rules_dedupes_strips_and_caps() -> None:
    rules = ["  贴合场景。 ", "贴合场景", "", "语言 自然", "有新意"] + [f"规则{i}" for i in range(12)]
    out = normalize_rules(rules)
    assert out[:3] == ["贴合场景。", "语言 自然", "有新意"] and len(out) == 10


def test_rule_set_schema_limits_ten_rules() -> None:
    assert len(RuleSet(rules=[str(i) for i in range(10)]).rules) == 10
    with pytest.raises(ValidationError):
        RuleSet(rules=[str(i) for i in range(11)])
    with pytest.raises(ValidationError):
        RuleSet(rules=[])


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"iteration": 3, "max_iterations": 3, "calls_used": 0, "call_budget": None,
          "stale_iterations": 0, "patience": 2}, "reached 3 iterations"),
        ({"iteration": 1, "max_iterations": 3, "calls_used": 50, "call_budget": 50,
          "stale_iterations": 0, "patience": 2}, "LLM-call budget spent (50 of 50)"),
        ({"iteration": 2, "max_iterations": 5, "calls_used": 10, "call_budget": 50,
          "stale_iterations": 2, "patience": 2}, "no validation gain for 2 iterations (patience 2)"),
        ({"iteration": 2, "max_iterations": 5, "calls_used": 10, "call_budget": None,
          "stale_iterations": 1, "patience": 2}, None),
    ],
)
def test_stop_rules(kwargs: dict, expected: str | None) -> None:
    assert stop_reason(**kwargs) == expected


def test_improved() -> None:
    assert improved(0.5, None) and improved(0.6, 0.5) and not improved(0.5, 0.5)
