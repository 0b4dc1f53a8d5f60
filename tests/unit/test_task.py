"""Tasks: the built-in greetings-zh, a task folder's errors (file, line, field), template overrides
and the checks they pass at load, and the content hash."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from kindling.agents.task import (
    TASKS_DIR,
    TaskError,
    builtin_tasks,
    load_task,
    task_prompts,
)
from kindling.agents.task_templates import TEMPLATE_VARIABLES
from kindling.store.principle_io import load_principles


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of greetings-zh to edit."""
    return Path(shutil.copytree(TASKS_DIR / "greetings-zh", tmp_path / "mine"))


def edit(folder: Path, old: str, new: str) -> None:
    path = folder / "task.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(folder: Path, text: str) -> int:
    lines = (folder / "task.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(text))


def test_the_builtin_task_loads() -> None:
    task = load_task("greetings-zh")
    assert "greetings-zh" in builtin_tasks()
    assert (task.name, task.language, task.length_unit) == ("greetings-zh", "zh", "chars")
    assert task.folder == TASKS_DIR / "greetings-zh" and len(task.content_hash) == 64
    assert load_task(TASKS_DIR / "greetings-zh").content_hash == task.content_hash
    assert len(task.spec.advocate.dimensions) == len(task.spec.critic.dimensions) == 9
    assert [load_principles(task.principles_ref(k)).kind
            for k in ("generator", "detector", "debate_judge")] == ["generator", "detector",
                                                                    "debate_judge"]
    out = task.prompts().render("judge/detect", principles=["r"], query="q", response="x")
    assert task.spec.writing.noun in out.text and out.template == "judge/detect.zh.jinja"


def test_every_builtin_task_loads_under_its_folder_name() -> None:
    for name in builtin_tasks():
        assert load_task(name).name == name


def test_a_folder_or_its_task_yaml_is_a_task(folder: Path) -> None:
    assert load_task(folder).folder == folder.resolve()
    assert load_task(str(folder / "task.yaml")).name == "greetings-zh"


@pytest.mark.parametrize("ref", ["greetings_zh", "no-such-task"])
def test_an_unknown_task_lists_the_builtin_ones(ref: str) -> None:
    with pytest.raises(TaskError, match=f"task '{ref}': no such folder, and no such built-in "
                                        "task.*greetings-zh"):
        load_task(ref)


def test_a_folder_without_task_yaml(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="no task.yaml in this folder"):
        load_task(tmp_path)


def test_an_unknown_key_names_file_line_and_field(folder: Path) -> None:
    edit(folder, "length_unit: chars\n", "length_unit: chars\nlenght: 3\n")
    with pytest.raises(TaskError) as caught:
        load_task(folder)
    where = f"{folder / 'task.yaml'}:{line_of(folder, 'lenght:')}: field lenght: unknown key"
    assert str(caught.value).startswith(where)


def test_a_nested_unknown_key_names_its_line(folder: Path) -> None:
    edit(folder, "  measure: 条\n", "  measure: 条\n  plural: 祝福语们\n")
    with pytest.raises(TaskError, match=rf"task.yaml:{line_of(folder, '  plural:')}: field "
                                        r"writing.plural: unknown key"):
        load_task(folder)


def test_a_missing_field_names_its_section(folder: Path) -> None:
    edit(folder, "  standard: 判为 1", "  standrd: 判为 1")
    with pytest.raises(TaskError) as caught:
        load_task(folder)
    message = str(caught.value)
    standard = line_of(folder, "  standrd:")
    assert f"task.yaml:{standard}: field judge.standrd: unknown key (did you mean " \
           "judge.standard?)" in message
    assert f"task.yaml:{line_of(folder, 'judge:')}: field judge.standard: Field required" \
           in message


def test_a_missing_top_level_field(folder: Path) -> None:
    edit(folder, "length_unit: chars\n", "")
    with pytest.raises(TaskError, match=r"task.yaml:1: field length_unit: Field required"):
        load_task(folder)


@pytest.mark.parametrize(("language", "expected"), [
    ("chinese", "field language: String should match pattern"),
    ("fr", "field language: no built-in template .*fr.jinja .*written in: en, zh"),
])
def test_a_bad_language_names_file_line_and_field(folder: Path, language: str,
                                                  expected: str) -> None:
    edit(folder, "language: zh\n", f"language: {language}\n")
    with pytest.raises(TaskError, match=rf"task.yaml:{line_of(folder, 'language:')}: {expected}"):
        load_task(folder)


def test_a_bad_value_in_a_list_names_its_line(folder: Path) -> None:
    edit(folder, "    verdict: 0\n    reason: 虽然", "    verdict: 2\n    reason: 虽然")
    with pytest.raises(TaskError, match=rf"task.yaml:{line_of(folder, '    verdict: 2')}: "
                                        r"field judge.example.verdict: "):
        load_task(folder)


def test_a_repeated_key_and_broken_yaml(folder: Path) -> None:
    edit(folder, "length_unit: chars\n", "length_unit: chars\nlength_unit: words\n")
    with pytest.raises(TaskError, match=r"task.yaml:\d+: key length_unit given twice"):
        load_task(folder)
    (folder / "task.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(TaskError, match=r"task.yaml: not valid YAML: .* at line 2"):
        load_task(folder)
    (folder / "task.yaml").write_text("- a list\n", encoding="utf-8")
    with pytest.raises(TaskError, match=r"task.yaml:1: top level must be a mapping"):
        load_task(folder)


def test_an_older_task_file_naming_the_debate_judge_set_judge_loads(folder: Path) -> None:
    unchanged = load_task(folder)
    edit(folder, "  debate_judge: path_a_judge", "  judge: path_a_judge")
    older = load_task(folder)
    assert older.spec.principles.debate_judge == "path_a_judge"
    assert older.principles_ref("debate_judge") == unchanged.principles_ref("debate_judge")
    assert load_task(folder).content_hash == older.content_hash  # the file's text, as written
    edit(folder, "  judge: path_a_judge", "  judge: detector_initial")
    with pytest.raises(TaskError, match=rf"task.yaml:{line_of(folder, '  judge:')}: field "
                                        r"principles.judge: .*detector set, not a debate_judge"):
        load_task(folder)


def test_principle_sets_must_exist_and_be_of_their_kind(folder: Path) -> None:
    edit(folder, "  detector: detector_initial", "  detector: generator_initial")
    with pytest.raises(TaskError, match=rf"task.yaml:{line_of(folder, '  detector:')}: field "
                                        r"principles.detector: .*generator set, not a detector"):
        load_task(folder)
    edit(folder, "  detector: generator_initial", "  detector: mine.yaml")
    with pytest.raises(TaskError, match=r"field principles.detector: .*no such file"):
        load_task(folder)
    (folder / "mine.yaml").write_text("name: mine\nkind: detector\nrules: [规则一]\n",
                                      encoding="utf-8")
    task = load_task(folder)
    assert task.principles_ref("detector") == str(folder / "mine.yaml")
    assert load_principles(task.principles_ref("detector")).rules == ("规则一",)


def test_an_override_template_is_used(folder: Path) -> None:
    (folder / "templates" / "llm").mkdir(parents=True)
    (folder / "templates" / "llm" / "reask.jinja").write_text(
        "Could not parse: {{ error }} ({{ task.writing.noun }})", encoding="utf-8")
    prompts = load_task(folder).prompts()
    out = prompts.render("llm/reask", error="bad")
    assert out.text == "Could not parse: bad (祝福语)"
    assert out.template == "tasks/greetings-zh/templates/llm/reask.jinja"
    assert prompts.render("judge/detect", principles=[], query="q",
                          response="r").template == "judge/detect.zh.jinja"


def test_an_override_with_an_undefined_variable_is_an_error_at_load(folder: Path) -> None:
    (folder / "templates" / "curate").mkdir(parents=True)
    judge = folder / "templates" / "curate" / "generate.jinja"
    judge.write_text("{{ query }} {{ exemplars }} {{ candidate }}", encoding="utf-8")
    with pytest.raises(TaskError, match=rf"{judge}: uses undefined variable 'candidate'; "
                                        r"the curate/generate template is given exemplars, "
                                        r"query and task"):
        load_task(folder)
    judge.write_text("{{ query }} {{ task.writing.plural }}", encoding="utf-8")
    with pytest.raises(TaskError, match=rf"{judge}: .*has no attribute 'plural'"):
        load_task(folder)
    judge.write_text("{{ query }} {% if %}", encoding="utf-8")
    with pytest.raises(TaskError, match=rf"{judge}:1: "):
        load_task(folder)


def test_an_override_of_no_template_is_an_error(folder: Path) -> None:
    (folder / "templates" / "curate").mkdir(parents=True)
    typo = folder / "templates" / "curate" / "judge.jinja"
    typo.write_text("{{ query }}", encoding="utf-8")
    with pytest.raises(TaskError, match=rf"{typo}: overrides no template: there is no "
                                        r"template curate/judge"):
        load_task(folder)


def test_the_content_hash_follows_task_yaml_and_overrides(folder: Path) -> None:
    first = load_task(folder).content_hash
    assert first == load_task(folder).content_hash == load_task("greetings-zh").content_hash
    edit(folder, "length_unit: chars", "length_unit: words")
    second = load_task(folder).content_hash
    assert second != first
    (folder / "templates" / "llm").mkdir(parents=True)
    (folder / "templates" / "llm" / "reask.jinja").write_text("{{ error }}", encoding="utf-8")
    assert load_task(folder).content_hash not in (first, second)


def test_every_role_template_has_its_variables_listed() -> None:
    prompts = task_prompts()
    for name, given in TEMPLATE_VARIABLES.items():
        assert prompts.undeclared(name) <= given, name
