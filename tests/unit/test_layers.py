"""The tree's layers, read from the code's own imports: they point one way and never circle.

`kindling` (CLI, studio, debugger, services) → `graphs` (wiring) → `agents` (nodes, LLM plumbing,
their config) → `store`; `ingest` (data files parsed, downloaded, imported) sits above `store` and
only `kindling` uses it; `rl` uses `agents`, `graphs` and `store`, never `kindling`; `prompts`
and `configs` hold no code but their folder's path. Each top-level folder installs inside
`kindling` (`agents/` is `kindling.agents`); a layer is that folder.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kindling", "graphs", "agents", "rl", "ingest", "store", "prompts", "configs")
MAY_IMPORT = {
    "kindling": {"kindling", "graphs", "agents", "rl", "ingest", "store", "prompts", "configs"},
    "rl": {"rl", "graphs", "agents", "store", "prompts"},
    "graphs": {"graphs", "agents", "store", "prompts"},
    "agents": {"agents", "store", "prompts", "configs"},
    "ingest": {"ingest", "store", "prompts"},
    "store": {"store", "prompts"},
    "prompts": {"prompts"},
    "configs": {"configs"},
}


def layer(module: str) -> str:
    """The folder a module's code lives in: `kindling.store.db` → store, `kindling.cli` → kindling."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in PACKAGES else "kindling"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join(parts if parts[0] == "kindling" else ["kindling", *parts])


def project_imports(path: Path, known: set[str]) -> set[str]:
    """The project modules a file imports (at any depth, type-checking imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
             if "migrations" not in p.parts]
    known = {module_name(p) for p in files}
    return {module_name(p): project_imports(p, known) - {module_name(p)} for p in files}


def test_every_import_points_down_a_layer() -> None:
    upward = sorted(f"{src} imports {dst}" for src, dsts in import_graph().items() for dst in dsts
                    if layer(dst) not in MAY_IMPORT[layer(src)])
    assert upward == []


def test_no_import_circles() -> None:
    graph = import_graph()
    # a package's __init__ importing its own modules is not a circle of behaviour
    edges = {m: {d for d in ds if not m.startswith(d + ".")} for m, ds in graph.items()}
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt):], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert circles == []


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from kindling.context import console\n", encoding="utf-8")
    assert project_imports(bad, {"kindling.context", "kindling"}) == {"kindling.context"}


def test_commands_never_import_each_other() -> None:
    """A command parses, calls one service and prints; shared work lives in kindling/services."""
    crossing = sorted(f"{src} imports {dst}" for src, dsts in import_graph().items()
                      for dst in dsts if src.startswith("kindling.commands.")
                      and dst.startswith("kindling.commands.") and dst != "kindling.commands")
    assert crossing == []


def test_services_and_library_code_never_import_the_cli() -> None:
    """Services, the debugger and the studio are callable without the CLI's commands."""
    reach = sorted(f"{src} imports {dst}" for src, dsts in import_graph().items() for dst in dsts
                   if not src.startswith(("kindling.commands", "kindling.cli", "kindling.__main__"))
                   and dst.startswith(("kindling.commands", "kindling.cli")))
    assert reach == []


def test_store_sessions_are_opened_only_in_the_store() -> None:
    """Queries live in store/: elsewhere code calls a store function, never `store.session()`."""
    outside = sorted(str(p.relative_to(ROOT)) for pkg in PACKAGES if pkg != "store"
                     for p in (ROOT / pkg).rglob("*.py") if ".session()" in p.read_text("utf-8"))
    assert outside == []
