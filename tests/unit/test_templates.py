import pytest
from kindling.agents.task import task_prompts
from kindling.agents.templates import PromptError
from kindling.store.principle_io import PrincipleFormatError, load_principles


def test_renders_judge_with_principles_and_fenced_response() -> None:
    lib = task_prompts()
    rules = load_principles("path_a_judge").rules
    out = lib.render("curate/kindling/judge", query="生日祝福", response="生日快乐", pros=["流畅"],
                     cons=[], principles=rules)
    assert "<<<RESPONSE>>>\n生日快乐\n<<<END>>>" in out.text
    assert rules[0] in out.text and "（无）" in out.text
    assert out.template == "curate/kindling/judge.zh.jinja" and len(out.template_hash) == 64


def test_paper_judge_weighs_only_the_two_analyses() -> None:
    out = task_prompts().render("curate/paper/judge", query="生日祝福", response="生日快乐",
                                 pros=["流畅：通顺"], cons=[])
    assert "<<<RESPONSE>>>\n生日快乐\n<<<END>>>" in out.text
    assert "- 流畅：通顺" in out.text and "（无）" in out.text and "评价原则" not in out.text


def test_missing_variable_is_an_error() -> None:
    with pytest.raises(PromptError, match="judge.zh.jinja"):
        task_prompts().render("curate/paper/judge", query="q")


def test_principles_from_a_path_and_bad_files(tmp_path) -> None:
    good = tmp_path / "mine.yaml"
    good.write_text("name: mine\nkind: debate_judge\nrules: [规则一, 规则二]\n", encoding="utf-8")
    assert load_principles(str(good)).rules == ("规则一", "规则二")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nkind: debate_judge\nrules: []\n", encoding="utf-8")
    with pytest.raises(PrincipleFormatError, match="bad.yaml: field rules"):
        load_principles(str(bad))
    with pytest.raises(PrincipleFormatError, match="none.yaml.: no such file, and no such name"):
        load_principles(str(tmp_path / "none.yaml"))
    with pytest.raises(PrincipleFormatError, match="is a folder; give a principle YAML file"):
        load_principles(str(tmp_path))
    (tmp_path / "utf16.yaml").write_text("rules: [a]\n", encoding="utf-16")
    with pytest.raises(PrincipleFormatError, match="utf16.yaml: not UTF-8"):
        load_principles(str(tmp_path / "utf16.yaml"))
    (tmp_path / "many.yaml").write_text("kind: debate_judge\nrules: [" + ", ".join(f"r{i}" for i in range(11)) + "]\n")
    with pytest.raises(PrincipleFormatError, match="11 rules, at most 10"):
        load_principles(str(tmp_path / "many.yaml"))
