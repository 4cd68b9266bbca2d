"""The shape of `local/`: a few top-level modules, subpackages by role, no import cycle, and one
composition root that only the commands which start a stack import."""

from __future__ import annotations

import ast
from pathlib import Path

from local.paths import PROJECT_ROOT

LOCAL = PROJECT_ROOT / "local"
MAX_TOP_LEVEL_MODULES = 8
# The commands that start a stack; tests and the benchmark (outside local/) may import it too.
MAY_IMPORT_STACK = {
    "local.commands.up",
    "local.commands.smoke_targets",  # smoke and e2e against a fresh local stack
    "local.chaos.cli",
    "local.chaos.load",
    "local.chaos.run",
    "local.chaos.scenario",
    "local.chaos.audit",
    "local.chaos.endpoints",
    "local.chaos.queues",
    "local.commands.burst",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _local_imports(path: Path) -> set[str]:
    """Every `local.*` module this file imports, at module level or inside a function."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names if alias.name.startswith("local."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "local":
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                # `from local.x import y` names module local.x.y when that is a module, else local.x.
                is_module = (PROJECT_ROOT / Path(*candidate.split("."))).with_suffix(".py").exists() or (
                    PROJECT_ROOT / Path(*candidate.split(".")) / "__init__.py"
                ).exists()
                imported.add(candidate if is_module else node.module)
    return imported


def _graph() -> dict[str, set[str]]:
    return {_module_name(path): _local_imports(path) for path in LOCAL.rglob("*.py")}


def test_local_keeps_at_most_eight_top_level_modules():
    modules = sorted(p.name for p in LOCAL.glob("*.py") if p.name not in {"__init__.py", "__main__.py"})
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


def test_only_the_commands_that_start_a_stack_import_the_composition_root():
    importers = {module for module, imports in _graph().items() if "local.stack" in imports}
    assert importers <= MAY_IMPORT_STACK, sorted(importers - MAY_IMPORT_STACK)


def test_local_has_no_import_cycle():
    graph = _graph()
    # Importing local.a.b runs local.a's __init__ first, unless the importer is inside local.a.
    for module, imports in graph.items():
        for imported in list(imports):
            parts = imported.split(".")
            for depth in range(2, len(parts)):
                package = ".".join(parts[:depth])
                if package in graph and package != module and not module.startswith(package + "."):
                    imports.add(package)
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in done:
            return
        assert module not in visiting, "import cycle: " + " -> ".join([*visiting[visiting.index(module) :], module])
        visiting.append(module)
        for imported in sorted(graph.get(module, ())):
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
