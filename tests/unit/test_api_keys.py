"""The one check that an endpoint's API key variable is set, and the error each caller gets."""

from __future__ import annotations

import pytest
from kindling.agents.llm.errors import LLMConfigError
from kindling.agents.llm.keys import require_api_key

VAR = "KINDLING_TEST_REQUIRED_KEY"


def test_a_set_variable_gives_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "sk-value")
    assert require_api_key(VAR, "api_key_env") == "sk-value"


@pytest.mark.parametrize("value", [None, ""])
def test_an_unset_or_empty_variable_names_it_and_the_field(
        monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv(VAR, raising=False)
    else:
        monkeypatch.setenv(VAR, value)
    with pytest.raises(LLMConfigError) as info:
        require_api_key(VAR, "llm.api_key_env")
    assert str(info.value) == (f"environment variable {VAR} (llm.api_key_env) is not set; set it "
                               "to your API key (any non-empty value for servers without auth)")


def test_a_caller_picks_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    with pytest.raises(ValueError, match=f"{VAR} .kindling.judge.llm.api_key_env. is not set"):
        require_api_key(VAR, "kindling.judge.llm.api_key_env", ValueError)
