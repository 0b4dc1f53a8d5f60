"""Prompt text lives in `prompts/` only: no Chinese sentence is built in the agents' or services'
code (the guard's patterns, the rule screen's placeholder words, a schema's accepted spellings and
the endpoint probe's sample texts are data the code matches or sends as a test item, not prompts)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
NOT_PROMPTS = {"agents/judge/guard.py", "agents/judge/schemas.py", "agents/llm/endpoint_check.py",
               "agents/adversarial/logic.py"}


def cjk_strings(path: Path) -> list[str]:
    """The non-docstring string constants of a file that hold Chinese text."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and CJK.search(node.value)]


def test_agents_graphs_rl_and_services_build_no_prompt_text() -> None:
    found = {}
    for folder in ("agents", "graphs", "rl", "kindling/services"):
        for path in (ROOT / folder).rglob("*.py"):
            name = path.relative_to(ROOT).as_posix()
            if name not in NOT_PROMPTS and cjk_strings(path):
                found[name] = cjk_strings(path)
    assert found == {}


def test_the_check_sees_an_f_string_prompt(tmp_path: Path) -> None:
    code = tmp_path / "x.py"
    code.write_text('"""文档"""\ndef f(e):\n    return f"{e} 建议：无"\n', encoding="utf-8")
    assert cjk_strings(code) == [" 建议：无"]
