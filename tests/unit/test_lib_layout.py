"""The shape of `lib/`: a few top-level modules, subpackages by role, and dependencies that point one way.

    domain      the records, events, errors and names; imports nothing else in lib
    ports       what the use cases need of adapters, and the values that cross; imports the domain
    usecases    ingest, recognition, arrivals, direct uploads, delivery; import the domain and ports
    adapters    AWS and HTTP behind the ports; import the domain, the ports and each other
    fetching    the SSRF-safe fetcher behind the Fetcher port; imports the domain and the ports
    plumbing    config, observability, deadline, throttling (lib's top level); import the domain

Every role may also use the plumbing, except the domain. Imports under TYPE_CHECKING count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from local.paths import PROJECT_ROOT

LIB = PROJECT_ROOT / "lib"
MAX_TOP_LEVEL_MODULES = 8
PLUMBING = {"config", "observability", "deadline", "throttling"}
ROLES = {"domain", "usecases", "adapters", "fetching"}
# What each role may import inside lib, besides itself.
MAY_IMPORT = {
    "domain": set(),
    "ports": {"domain"},
    "plumbing": {"domain"},
    "usecases": {"domain", "ports", "plumbing"},
    "adapters": {"domain", "ports", "plumbing"},
    "fetching": {"domain", "ports", "plumbing"},
}


def role_of(module: str) -> str:
    """`lib.domain.model` -> domain; `lib.ports` -> ports; `lib.config` -> plumbing."""
    parts = module.split(".")
    if len(parts) > 2 or parts[1] in ROLES:
        return parts[1]
    return "ports" if parts[1] == "ports" else "plumbing"


def lib_imports(path: Path, root: Path) -> set[str]:
    """Every `lib.*` module this file imports, at module level, in a function or under TYPE_CHECKING."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names if alias.name.split(".")[0] == "lib")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "lib":
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (root / Path(*candidate.split("."))).with_suffix(".py").exists()
                imported.add(candidate if is_module else node.module)
    return {module for module in imported if module != "lib"}


def modules(root: Path) -> dict[str, Path]:
    lib = root / "lib"
    found = {}
    for path in lib.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            continue
        found[".".join(parts)] = path
    return found


def layout_violations(root: Path) -> list[str]:
    """What breaks the layout in the project at `root`, one sentence each."""
    problems = []
    top_level = sorted(p.stem for p in (root / "lib").glob("*.py") if p.name != "__init__.py")
    if len(top_level) > MAX_TOP_LEVEL_MODULES:
        problems.append(f"lib/ has {len(top_level)} top-level modules, more than {MAX_TOP_LEVEL_MODULES}: {top_level}")
    for name in top_level:
        if name not in PLUMBING | {"ports"}:
            problems.append(f"lib/{name}.py is at lib/'s top level but is not plumbing: give it a role folder")
    for module, path in sorted(modules(root).items()):
        role = role_of(module)
        if role not in MAY_IMPORT:
            problems.append(f"{module} is in lib/{module.split('.')[1]}/, which is not a role: {sorted(ROLES)}")
            continue
        for imported in sorted(lib_imports(path, root)):
            target = role_of(imported)
            if target != role and target not in MAY_IMPORT[role]:
                problems.append(f"{module} ({role}) imports {imported} ({target}), against the direction")
    return problems


def test_lib_keeps_its_layout_and_its_dependencies_point_one_way():
    assert layout_violations(PROJECT_ROOT) == []


def test_lib_imports_nothing_else_of_the_project():
    for module, path in modules(PROJECT_ROOT).items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.split(".")[0] not in {"handlers", "local", "tests"}, f"{module} imports {name}"


@pytest.mark.parametrize(
    ("module", "role"),
    [
        ("lib.domain.model", "domain"),
        ("lib.ports", "ports"),
        ("lib.config", "plumbing"),
        ("lib.usecases.ingest", "usecases"),
        ("lib.adapters.storage", "adapters"),
        ("lib.fetching.fetch", "fetching"),
    ],
)
def test_each_module_has_the_role_of_its_folder(module, role):
    assert role_of(module) == role
