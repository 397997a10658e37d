"""No import cycles among nst_research's modules (an AST import graph).

Every import counts: module level, inside functions and under ``TYPE_CHECKING`` (a cycle hidden
there is still two modules that need each other). Importing a submodule imports its parent
packages first; those edges are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nst_research

PACKAGE = Path(nst_research.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """The nst_research modules a module imports, anywhere in it."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            subs = {f"{base}.{a.name}" for a in node.names} & modules
            out |= subs if len(subs) == len(node.names) else {base, *subs}
    parents = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    return {m for m in out if m in modules and m != name and m not in parents}


def import_graph() -> dict[str, set[str]]:
    """{module: the nst_research modules it imports}."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: _imports(ast.parse(path.read_text()), name, path.name == "__init__.py", set(files))
        for name, path in files.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles_in_the_package():
    graph = import_graph()
    assert "nst_research.engine.build" in graph and "nst_research.backbones.vgg" in graph
    assert "nst_research.engine.inputs" in graph["nst_research.engine.build"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))
