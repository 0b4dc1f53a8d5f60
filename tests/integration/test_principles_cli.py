"""`kindling principles list|show|diff|activate|export|import|edit` through the real CLI."""

import shlex
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from kindling.prompts import PROMPTS_DIR
from kindling.store.db import Store
from kindling.store.principle_io import load_principles
from kindling.store.principles import (
    activate,
    get_version,
    list_versions,
    register_version,
    rules_of,
)
from rich.console import Console
from typer.testing import CliRunner

from kindling.cli import app
from kindling.commands import principles as principles_cmd
from kindling.commands.principles import styled_diff

DETECTOR_FILE = PROMPTS_DIR / "principles" / "detector_initial.yaml"


def _cli(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db-url", url, "principles", *args])
    return result.exit_code, result.output


def _shows(output: str, text: str) -> bool:
    """`text` is in `output`, ignoring whitespace (rich wraps long lines)."""
    return "".join(text.split()) in "".join(output.split())


def _seed(store: Store) -> tuple[int, int]:
    root = register_version(store, kind="detector", name="detector_initial",
                            text="贴合场景\n真诚具体\n语言自然", origin="file")
    child = register_version(
        store, kind="detector", name="detector_initial", text="贴合场景\n语言自然\n有新意",
        origin="optimizer", parent_id=root, iteration=2, feedback="生成器骗过了检测器：套话",
        metrics={"accuracy": 0.8125, "f1": 0.75, "length_baseline": {"accuracy": 0.9, "f1": 0.88}})
    return root, child


def _editor(tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "edit.py"
    script.write_text("import sys, yaml\npath = sys.argv[1]\n" + body, encoding="utf-8")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}")


APPEND_RULE = (
    "data = yaml.safe_load(open(path, encoding='utf-8'))\n"
    "data['rules'].append('不要照抄 query 的原话。')\n"
    "open(path, 'w', encoding='utf-8').write(yaml.safe_dump(data, allow_unicode=True))\n"
)


def test_list_show_and_diff(sqlite_store: Store, sqlite_url: str, monkeypatch) -> None:
    monkeypatch.setattr(principles_cmd, "console", Console(width=160))  # a table row per line
    root, child = _seed(sqlite_store)
    code, out = _cli(sqlite_url, "list")
    assert code == 0, out
    assert _shows(out, "0.812 (0.900)") and _shows(out, "0.750 (0.880)")
    assert _shows(out, f"│ {child} │ detector │")
    code, out = _cli(sqlite_url, "list", "--kind", "generator")
    assert code == 0 and f"│ {child} " not in out
    code, out = _cli(sqlite_url, "show", str(child))
    assert code == 0, out
    assert _shows(out, " 1. 贴合场景") and _shows(out, " 3. 有新意")
    assert _shows(out, f"lineage: {child} (optimizer) ← {root} (file)")
    assert _shows(out, "生成器骗过了检测器：套话") and _shows(out, "f1: 0.75")
    assert _shows(out, "iteration: 2")
    code, out = _cli(sqlite_url, "diff", str(root), str(child))
    assert code == 0, out
    assert "-真诚具体" in out and "+有新意" in out and " 贴合场景" in out
    code, out = _cli(sqlite_url, "diff", str(root), "99")
    assert code == 2 and "principle version 99 does not exist" in out


def test_diff_colors_added_green_and_removed_red() -> None:
    styles = {t.plain: str(t.style) for t in styled_diff(["--- 1 a", "+++ 2 a", "@@ -1 +1 @@",
                                                          "-old", "+new", " same"])}
    assert styles["-old"] == "red" and styles["+new"] == "green" and styles[" same"] == ""
    assert styles["--- 1 a"] == "bold" and styles["+++ 2 a"] == "bold"


def test_activate_by_id_and_best(sqlite_store: Store, sqlite_url: str) -> None:
    root, child = _seed(sqlite_store)
    code, out = _cli(sqlite_url, "activate", str(root))
    assert code == 0 and f"activated detector version {root}" in out
    code, out = _cli(sqlite_url, "activate", "--best", "--kind", "detector")
    assert code == 2 and _shows(out, f"not activated: the best detector version is {child}")
    assert _shows(out, "no better than the length-only rule on the same validation items "
                       "(F1 0.880)") and _shows(out, "--force")
    assert [v.id for v in list_versions(sqlite_store, "detector") if v.active] == [root]
    code, out = _cli(sqlite_url, "activate", "--best", "--kind", "detector", "--force")
    assert code == 0 and f"version {child}" in out and "F1 0.750" in out
    assert _shows(out, "warning: version") and _shows(out, "length-only rule")
    assert [v.id for v in list_versions(sqlite_store, "detector") if v.active] == [child]
    assert _cli(sqlite_url, "activate", str(root), "--force")[0] == 2  # --force needs --best
    code, out = _cli(sqlite_url, "activate", "--best", "--kind", "generator")
    assert code == 2 and "no generator version has a validation F1" in out
    code, out = _cli(sqlite_url, "activate", "--best", "--run", "7")
    assert code == 2 and "in run 7" in out
    assert _cli(sqlite_url, "activate")[0] == 2
    assert _cli(sqlite_url, "activate", "99")[0] == 2
    assert _cli(sqlite_url, "activate", "--best", "--kind", "critic")[0] == 2


def test_activate_on_postgres(pg_store: Store, pg_url: str) -> None:
    root, child = _seed(pg_store)
    assert _cli(pg_url, "activate", str(root))[0] == 0
    assert _cli(pg_url, "activate", "--best")[0] == 2  # no better than the length rule
    assert _cli(pg_url, "activate", "--best", "--force")[0] == 0
    assert [v.id for v in list_versions(pg_store, "detector") if v.active] == [child]
    code, out = _cli(pg_url, "activate", str(root))
    assert code == 0, out
    assert [v.id for v in list_versions(pg_store) if v.active] == [root]


def test_export_then_import_and_load(sqlite_store: Store, sqlite_url: str, tmp_path: Path) -> None:
    _, child = _seed(sqlite_store)
    out_file = tmp_path / "sd.yaml"
    code, out = _cli(sqlite_url, "export", str(child), "--out", str(out_file))
    assert code == 0, out
    data = yaml.safe_load(out_file.read_text(encoding="utf-8"))
    assert data["version"] == child and data["origin"] == "optimizer" and data["language"] == "zh"
    assert load_principles(str(out_file)).text == get_version(sqlite_store, child).text
    code, out = _cli(sqlite_url, "import", str(out_file))
    assert code == 0 and _shows(out, f"already exist as detector version {child}")
    data["rules"].append("篇幅适中")
    out_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    code, out = _cli(sqlite_url, "import", str(out_file), "--name", "mine", "--parent", str(child))
    assert code == 0 and "created detector version" in out, out
    new = list_versions(sqlite_store)[-1]
    assert (new.name, new.origin, new.parent_id) == ("mine", "manual", child)
    assert rules_of(new)[-1] == "篇幅适中"
    assert _cli(sqlite_url, "export", "99", "--out", str(out_file))[0] == 2
    assert _cli(sqlite_url, "export", str(child), "--out", str(tmp_path / "no" / "x.yaml"))[0] == 2


def test_import_starting_set_and_bad_files(sqlite_store: Store, sqlite_url: str,
                                           tmp_path: Path) -> None:
    code, out = _cli(sqlite_url, "import", str(DETECTOR_FILE))
    assert code == 0 and "created detector version 1" in out, out
    bad = {
        "empty.yaml": ("name: x\nkind: detector\nrules: []\n", "field rules"),
        "missing.yaml": ("name: x\nkind: detector\n", "field rules: missing"),
        "kind.yaml": ("name: x\nkind: critic\nrules: [a]\n", "field kind"),
        "dup.yaml": ("name: x\nkind: detector\nrules: [a, b, a]\n", "duplicates rule 1"),
    }
    for name, (doc, expected) in bad.items():
        path = tmp_path / name
        path.write_text(doc, encoding="utf-8")
        code, out = _cli(sqlite_url, "import", str(path))
        assert code == 2 and _shows(out, str(path)) and _shows(out, expected), out
    assert _cli(sqlite_url, "import", str(tmp_path / "absent.yaml"))[0] == 2
    assert len(list_versions(sqlite_store)) == 1


def test_edit_stores_a_child_version_and_activates(sqlite_store: Store, sqlite_url: str,
                                                   tmp_path: Path, monkeypatch) -> None:
    _, child = _seed(sqlite_store)
    _editor(tmp_path, APPEND_RULE, monkeypatch)
    code, out = _cli(sqlite_url, "edit", str(child), "--activate")
    assert code == 0 and "created detector version 3" in out and "activated" in out, out
    new = get_version(sqlite_store, 3)
    assert (new.parent_id, new.origin, new.kind, new.active) == (child, "manual", "detector", True)
    assert rules_of(new) == [*rules_of(get_version(sqlite_store, child)), "不要照抄 query 的原话。"]
    code, out = _cli(sqlite_url, "show", "3")
    assert _shows(out, f"lineage: 3 (manual) ← {child} (optimizer) ← 1 (file)")


def test_edit_without_change_writes_nothing(sqlite_store: Store, sqlite_url: str,
                                            tmp_path: Path, monkeypatch) -> None:
    _, child = _seed(sqlite_store)
    _editor(tmp_path, "pass\n", monkeypatch)
    code, out = _cli(sqlite_url, "edit", str(child))
    assert code == 0 and "no change" in out, out
    assert len(list_versions(sqlite_store)) == 2


@pytest.mark.parametrize(("body", "expected"), [
    ("data = yaml.safe_load(open(path))\ndata['rules'] = []\n"
     "open(path, 'w').write(yaml.safe_dump(data))\n", "field rules"),
    ("data = yaml.safe_load(open(path))\ndata['rules'].append(data['rules'][0])\n"
     "open(path, 'w').write(yaml.safe_dump(data))\n", "duplicates rule 1"),
    ("data = yaml.safe_load(open(path))\ndata['kind'] = 'generator'\n"
     "open(path, 'w').write(yaml.safe_dump(data))\n", "cannot change from detector"),
    ("sys.exit(3)\n", "exited with status 3"),
])
def test_bad_edit_writes_nothing(sqlite_store: Store, sqlite_url: str, tmp_path: Path,
                                 monkeypatch, body: str, expected: str) -> None:
    _, child = _seed(sqlite_store)
    _editor(tmp_path, body, monkeypatch)
    code, out = _cli(sqlite_url, "edit", str(child))
    assert code == 2 and _shows(out, expected), out
    assert len(list_versions(sqlite_store)) == 2


def test_edit_uses_visual_when_editor_is_unset(sqlite_store: Store, sqlite_url: str,
                                               tmp_path: Path, monkeypatch) -> None:
    _, child = _seed(sqlite_store)
    _editor(tmp_path, APPEND_RULE, monkeypatch)
    monkeypatch.setenv("VISUAL", f"{shlex.quote(sys.executable)} {shlex.quote(str(tmp_path / 'edit.py'))}")
    monkeypatch.delenv("EDITOR")
    code, out = _cli(sqlite_url, "edit", str(child))
    assert code == 0 and "created detector version 3" in out, out
    monkeypatch.setenv("EDITOR", str(tmp_path / "no-such-editor"))
    code, out = _cli(sqlite_url, "edit", str(child))
    assert code == 2 and "cannot start the editor" in out


def test_concurrent_activations_leave_one_active_on_postgres(pg_store: Store) -> None:
    ids = [register_version(pg_store, kind="detector", name="s", text=f"rule {i}", origin="manual")
           for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: activate(pg_store, ids[i % 4]), range(24)))
    assert len([v for v in list_versions(pg_store, "detector") if v.active]) == 1
