"""No import circles between the project's modules: data flows one way.

Every project ``.py`` file (tests/, hidden folders and virtual environments left out) is parsed
with ``ast``; each import of a project module, at module level or inside a function, is an edge.
``from x.y import z`` is an edge to ``x.y`` and, where ``x.y.z`` is a module, to it too; relative
imports are resolved against the importing module; importing ``a.b.c`` is an edge to the
packages ``a`` and ``a.b`` as well (their ``__init__`` runs first). As in the review hook
(shared/hooks/before-stop), a submodule importing its own package's ``__init__`` is no edge,
while a package's ``__init__`` importing its submodules is. Any strongly connected component of
more than one module is a circle and fails the test, listed with the edges that close it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

SKIP_PARTS = {".git", "tests", ".venv", "venv", "node_modules", "__pycache__"}


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every project .py file (packages by their ``__init__``)."""
    mods = {}
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if any(part in SKIP_PARTS or part.startswith(".") for part in rel.parts):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts:
            mods[".".join(parts)] = path
    return mods


def _base(module: str, is_package: bool, level: int, name: str | None) -> str | None:
    """The absolute module a ``from`` import names (``level`` dots relative to ``module``)."""
    if not level:
        return name
    parts = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 > len(parts):
        return None
    parts = parts[: len(parts) - (level - 1)]
    return ".".join([*parts, name] if name else parts) or None


def imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name ``module`` imports, anywhere in its file."""
    names: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, is_package, node.level, node.module)
            if base:
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for module, path in mods.items():
        named = imported_names(module, path)
        # importing a.b.c runs a/__init__ and a/b/__init__ first: those are edges too
        parents = {name.rsplit(".", k)[0] for name in named for k in range(1, name.count(".") + 1)}
        for name in named | parents:
            if name not in mods or name == module:
                continue
            if mods[name].name == "__init__.py" and module.startswith(name + "."):
                continue  # a submodule reaching its own package's __init__
            graph[module].add(name)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        comp.append(member)
                        if member == node:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return sorted(found)


def _describe(comp: list[str], graph: dict[str, set[str]]) -> str:
    members = set(comp)
    edges = [f"{a} -> {b}" for a in comp for b in sorted(graph[a] & members)]
    return f"  - {' <-> '.join(comp)}\n      " + "\n      ".join(edges)


def test_the_graph_finds_a_circle_and_a_chain():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_imports_are_read_at_every_level(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from pkg import low\n")
    (pkg / "low.py").write_text("def f():\n    from pkg.sub import high\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "high.py").write_text("from .. import low\nimport pkg\n")
    (tmp_path / "top.py").write_text("import pkg.sub.high\n")
    mods = project_modules(tmp_path)
    graph = import_graph(mods)
    assert graph["pkg.low"] == {"pkg.sub", "pkg.sub.high"}  # inside a function, via from-import
    assert graph["pkg.sub.high"] == {"pkg.low"}  # relative; its own package's __init__ skipped
    assert graph["pkg"] == {"pkg.low"}  # a package's __init__ importing its submodule counts
    assert graph["top"] == {"pkg", "pkg.sub", "pkg.sub.high"}  # the packages' __init__ run too
    assert circles(graph) == [["pkg.low", "pkg.sub.high"]]


def test_no_import_circles_between_project_modules():
    graph = import_graph(project_modules())
    found = circles(graph)
    assert not found, (
        "import circles between project modules (module-level and function-level imports); "
        "data should flow one way:\n" + "\n".join(_describe(c, graph) for c in found))
