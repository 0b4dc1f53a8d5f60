"""Principle versions: YAML round trip and validation, diff, lineage, activation, best by F1."""

import shutil
from pathlib import Path

import pytest
import yaml
from kindling.prompts import PROMPTS_DIR
from kindling.store.db import Store
from kindling.store.models import Run
from kindling.store.principle_io import (
    PrincipleFormatError,
    from_yaml_text,
    load_principles,
    to_yaml,
    validate_rules,
)
from kindling.store.principles import (
    PrincipleNotFound,
    activate,
    active_version,
    add_version,
    best_version,
    get_version,
    lineage,
    list_versions,
    register_version,
    resolve_version,
    rules_of,
    set_metrics,
    versions_diff,
)


def _add(store: Store, rules: list[str], kind: str = "detector", **kw) -> int:
    return register_version(store, kind=kind, name=kw.pop("name", "s"), text="\n".join(rules),
                            origin=kw.pop("origin", "optimizer"), **kw)


def test_versions_diff_marks_added_and_removed_rules(sqlite_store: Store) -> None:
    a = get_version(sqlite_store, _add(sqlite_store, ["贴合场景", "真诚具体", "语言自然"]))
    b = get_version(sqlite_store, _add(sqlite_store, ["贴合场景", "语言自然", "有新意"]))
    lines = versions_diff(a, b)
    assert lines[0] == f"--- {a.id} s" and lines[1] == f"+++ {b.id} s"
    assert "-真诚具体" in lines and "+有新意" in lines and " 贴合场景" in lines
    assert versions_diff(a, a) == []


def test_yaml_round_trip_through_import_and_load_principles(sqlite_store: Store,
                                                            tmp_path: Path) -> None:
    vid = _add(sqlite_store, ["贴合场景：符合 query", "有新意: 避免套话"], name="sd")
    v = get_version(sqlite_store, vid)
    text = to_yaml(v, "zh")
    data = yaml.safe_load(text)
    assert data == {"name": "sd", "kind": "detector", "language": "zh", "task": "greetings-zh",
                    "rules": ["贴合场景：符合 query", "有新意: 避免套话"],
                    "version": vid, "parent": None, "origin": "optimizer"}
    draft = from_yaml_text(text, "x.yaml")
    assert (draft.name, draft.kind, draft.text) == ("sd", "detector", v.text)
    assert (draft.task, draft.language) == ("greetings-zh", "zh")
    path = tmp_path / "sd.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_principles(str(path))
    assert (loaded.kind, loaded.text) == ("detector", v.text)


def test_starting_sets_parse_as_imports() -> None:
    for path in sorted((PROMPTS_DIR / "principles").glob("*.yaml")):
        draft = from_yaml_text(path.read_text(encoding="utf-8"), str(path))
        assert draft.text == load_principles(str(path)).text


@pytest.mark.parametrize(("doc", "expected"), [
    ("name: x\nkind: detector\n", "field rules: missing"),
    ("name: x\nkind: detector\nrules: []\n", "field rules: must be a non-empty list"),
    ("name: x\nkind: detector\nrules: [a, '  ']\n", "field rules, rule 2: must be a non-empty"),
    ("name: x\nkind: detector\nrules: [a, 3]\n", "field rules, rule 2"),
    ("name: x\nkind: detector\nrules: [a, b, ' a ']\n", "rule 3: duplicates rule 1: a"),
    ("name: x\nkind: detector\nrules: ['a\n\n  b']\n", "rule 1: contains a line break"),
    ("name: x\nkind: critic\nrules: [a]\n", "field kind: 'critic' is not one of"),
    ("name: x\nrules: [a]\n", "field kind: missing"),
    ("name: x\nkind: detector\nrule: [a]\n", "field rule: unknown"),
    ("- a\n- b\n", "top level must be a mapping"),
    ("name: [x\n", "not valid YAML"),
])
def test_bad_principle_yaml_names_file_and_field(doc: str, expected: str) -> None:
    with pytest.raises(PrincipleFormatError) as err:
        from_yaml_text(doc, "bad.yaml")
    assert str(err.value).startswith("bad.yaml: ")
    assert expected in str(err.value)


def test_rule_count_and_length_are_bounded() -> None:
    assert len(validate_rules([f"rule {i}" for i in range(10)], "f")) == 10
    with pytest.raises(PrincipleFormatError, match="11 rules, at most 10"):
        validate_rules([f"rule {i}" for i in range(11)], "f")
    with pytest.raises(PrincipleFormatError, match="rule 2: 301 characters, at most 300"):
        validate_rules(["ok", "x" * 301], "f")


def test_name_override_and_default() -> None:
    assert from_yaml_text("kind: debate_judge\nrules: [a]\n", "f", default_name="stem").name == "stem"
    assert from_yaml_text("name: n\nkind: debate_judge\nrules: [a]\n", "f", name="o").name == "o"


def test_a_file_of_the_older_kind_name_judge_reads_as_debate_judge(sqlite_store: Store,
                                                                   tmp_path: Path) -> None:
    old = tmp_path / "exported.yaml"
    old.write_text("name: mine\nkind: judge\nrules: [规则一]\n", encoding="utf-8")
    assert load_principles(str(old)).kind == "debate_judge"
    assert from_yaml_text(old.read_text(encoding="utf-8"), str(old)).kind == "debate_judge"
    vid = _add(sqlite_store, ["规则一"], name="mine", kind="debate_judge")
    assert yaml.safe_load(to_yaml(get_version(sqlite_store, vid)))["kind"] == "debate_judge"


def test_add_version_says_whether_it_created(sqlite_store: Store) -> None:
    first = add_version(sqlite_store, kind="detector", name="a", text="x\ny", origin="manual")
    again = add_version(sqlite_store, kind="detector", name="b", text="x\ny", origin="manual")
    other_kind = add_version(sqlite_store, kind="generator", name="a", text="x\ny", origin="manual")
    assert first[1] is True and again == (first[0], False)
    assert other_kind[1] is True and other_kind[0] != first[0]
    assert get_version(sqlite_store, first[0]).name == "a"


def test_lineage_runs_from_version_to_root(sqlite_store: Store) -> None:
    root = _add(sqlite_store, ["a"], origin="file")
    child = _add(sqlite_store, ["a", "b"], parent_id=root)
    grandchild = _add(sqlite_store, ["a", "b", "c"], parent_id=child)
    assert [v.id for v in lineage(sqlite_store, grandchild)] == [grandchild, child, root]
    assert [v.id for v in lineage(sqlite_store, root)] == [root]
    with pytest.raises(PrincipleNotFound):
        lineage(sqlite_store, 999)
    with pytest.raises(PrincipleNotFound):
        get_version(sqlite_store, 999)


def test_activation_is_exclusive_per_kind(sqlite_store: Store) -> None:
    d1, d2 = _add(sqlite_store, ["a"]), _add(sqlite_store, ["b"])
    g1 = _add(sqlite_store, ["c"], kind="generator")
    activate(sqlite_store, g1)
    activate(sqlite_store, d1)
    assert activate(sqlite_store, d2).active
    assert [v.id for v in list_versions(sqlite_store) if v.active] == [d2, g1]
    active = active_version(sqlite_store, "detector")
    assert active is not None and active.id == d2
    assert resolve_version(sqlite_store, None, "detector", "detector_initial").id == d2
    with pytest.raises(PrincipleNotFound):
        activate(sqlite_store, 999)


def test_best_version_by_validation_f1(sqlite_store: Store) -> None:
    assert best_version(sqlite_store, "detector") is None
    _add(sqlite_store, ["none"])
    assert best_version(sqlite_store, "detector") is None
    low = _add(sqlite_store, ["low"], metrics={"accuracy": 0.9, "f1": 0.5})
    high = _add(sqlite_store, ["high"], metrics={"accuracy": 0.7, "f1": 0.8})
    tie_better_acc = _add(sqlite_store, ["tie"], metrics={"accuracy": 0.75, "f1": 0.8})
    _add(sqlite_store, ["tie later"], metrics={"accuracy": 0.75, "f1": 0.8})
    _add(sqlite_store, ["bad"], metrics={"f1": "n/a"})
    _add(sqlite_store, ["gen"], kind="generator", metrics={"f1": 0.99})
    best = best_version(sqlite_store, "detector")
    assert best is not None and best.id == tie_better_acc
    assert high != tie_better_acc and low != best.id


def test_best_version_within_a_run(sqlite_store: Store) -> None:
    with sqlite_store.session() as s:
        run = Run(kind="adversarial", config={}, status="done", code_version="t")
        s.add(run)
        s.flush()
        run_id = run.id
    _add(sqlite_store, ["outside"], metrics={"f1": 0.9})
    inside = _add(sqlite_store, ["inside"], run_id=run_id, iteration=1, metrics={"f1": 0.6})
    best = best_version(sqlite_store, "detector", run_id)
    assert best is not None and best.id == inside
    assert [v.id for v in list_versions(sqlite_store, "detector", run_id)] == [inside]


def test_editing_a_principle_file_passed_by_path_gives_a_new_version(sqlite_store: Store,
                                                                    tmp_path: Path) -> None:
    path = tmp_path / "my_detector.yaml"
    shutil.copy(PROMPTS_DIR / "principles" / "detector_initial.yaml", path)
    first = resolve_version(sqlite_store, str(path), "detector", "detector_initial")
    assert resolve_version(sqlite_store, str(path), "detector", "detector_initial").id == first.id
    path.write_text(path.read_text(encoding="utf-8") + "  - 不要照抄 query 的原话。\n",
                    encoding="utf-8")
    second = resolve_version(sqlite_store, str(path), "detector", "detector_initial")
    assert second.id != first.id
    assert rules_of(second)[:-1] == rules_of(first)
    assert rules_of(second)[-1] == "不要照抄 query 的原话。"
    assert second.origin == "file" and second.kind == "detector"


def test_set_metrics_makes_a_version_a_best_candidate(sqlite_store: Store) -> None:
    vid = _add(sqlite_store, ["a"])
    set_metrics(sqlite_store, vid, {"accuracy": 0.7, "f1": 0.6, "length_baseline": {"f1": 0.9}})
    best = best_version(sqlite_store, "detector")
    assert best is not None and best.id == vid and best.metrics["length_baseline"] == {"f1": 0.9}
    assert best.text == "a"
    with pytest.raises(PrincipleNotFound):
        set_metrics(sqlite_store, 999, {})
