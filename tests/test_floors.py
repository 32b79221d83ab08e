"""The floors of the package, checked by walking every import with `ast`.

    CLI, desk, demo, schedule      on top: may import anything below
    stages                         collect, extract, classify, publish, deliver
    store                          only SQL; imports the base only
    base                           watcher.base and the shared modules (settings,
                                   config, models, exceptions, urls, files); no stage

Imports inside functions count as much as those at the top of a module: a lazy
import from the store to a stage is still a crossed floor.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "watcher"

BASE = {
    "watcher",  # the package's __init__ (its version)
    "watcher.base",
    "watcher.exceptions",
    "watcher.settings",
    "watcher.config",
    "watcher.models",
    "watcher.urls",
    "watcher.files",
}
STORE = {"watcher.store"}
STAGES = {
    "watcher.collect",
    "watcher.extract",
    "watcher.classify",
    "watcher.publish",
    "watcher.deliver",
}
TOP = {"watcher.schedule", "watcher.desk", "watcher.demo", "watcher.cli", "watcher.__main__"}
FLOOR = {**dict.fromkeys(BASE, 0), **dict.fromkeys(STORE, 1), **dict.fromkeys(STAGES, 2)}
FLOOR.update(dict.fromkeys(TOP, 3))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every watcher module a file imports (absolute and relative, anywhere in it)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            # `from watcher import publish` imports the package watcher.publish
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m == "watcher" or m.startswith("watcher.")}


def unit(module: str) -> str:
    """The floor unit a module belongs to: its package under watcher, or itself."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] == "base":
        return "watcher.base"
    return ".".join(parts[:2])


def graph() -> dict[str, set[str]]:
    """Unit -> units it imports (only modules that exist in the package)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for target in imports_of(path):
            while target not in modules and "." in target:
                target = target.rpartition(".")[0]  # `from x import name`: name is no module
            if unit(target) != unit(name):
                edges[unit(name)].add(unit(target))
    return edges


def test_every_unit_has_a_floor() -> None:
    units = {unit(module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert units - set(FLOOR) == set(), "add the new package to a floor in this test"


def test_nothing_imports_a_floor_above_its_own() -> None:
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in graph().items()
        for target in targets
        if FLOOR[target] > FLOOR[source]
    )
    assert upward == []


@pytest.mark.parametrize("floor", ["watcher.base", "watcher.store"])
def test_base_and_store_import_no_stage(floor: str) -> None:
    allowed = BASE | ({"watcher.store"} if floor == "watcher.store" else set())
    assert graph()[floor] - allowed == set()


def test_no_import_cycle_between_packages() -> None:
    edges = graph()
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(edges.get(node, ())):
            if target in path:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in done:
                visit(target, [*path, target])
        done.add(node)

    done: set[str] = set()
    for start in sorted(edges):
        if start not in done:
            visit(start, [start])
    assert cycles == []


def test_the_walk_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """The checker itself: an import inside a function and a relative one are found."""
    global PACKAGE
    fake = tmp_path / "watcher"
    (fake / "store").mkdir(parents=True)
    (fake / "publish").mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "publish" / "__init__.py").write_text("")
    (fake / "store" / "__init__.py").write_text("from . import rows\n")
    (fake / "store" / "rows.py").write_text(
        "def f():\n    from watcher.publish import weeks\n    return weeks\n"
    )
    saved, PACKAGE = PACKAGE, fake
    try:
        assert graph()["watcher.store"] == {"watcher.publish"}
        assert imports_of(fake / "store" / "__init__.py") >= {"watcher.store.rows"}
    finally:
        PACKAGE = saved
