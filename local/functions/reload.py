"""Hot reload: a saved file under handlers/ or lib/ replaces the warm workers of the functions that import it.

The watcher (watchfiles, on inotify) runs on a thread of its own. Which functions a file affects is
read from each handler module's import graph within the project, parsed again at every change so
that a new import counts at once. A reload goes through `LambdaRuntime.reload`: events in flight
finish on the code they started with, nothing is canceled or run twice, and a pool never holds
more workers than its concurrency. serverless.yml builds the whole topology at start, so a change
to it is reported as needing a restart rather than half applied.
"""

from __future__ import annotations

import ast
import importlib.util
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import watchfiles

from local.functions.runtime import InvocationError, LambdaRuntime

logger = logging.getLogger("local.functions.reload")

WATCHED_DIRS = ("handlers", "lib")
# How often the watcher wakes without a change: it bounds how long a stop waits and how late a
# serverless.yml change is noticed (the file is stat-ed rather than watched: editors replace it).
IDLE_WAKE_MS = 300


# --- which functions a file affects ------------------------------------------------------------------
def handler_file(project_root: Path, handler: str) -> Path:
    """`handlers/upload.handler` -> <root>/handlers/upload.py, as the worker resolves it."""
    module_path = handler.rsplit(".", 1)[0].strip("/")
    return project_root / f"{module_path}.py"


def project_imports(project_root: Path, entry: Path) -> set[Path]:
    """The project's own source files that importing `entry` runs: it, its imports, and theirs.

    Imports that resolve to no file under the root (the standard library, installed packages) end
    the walk. A file that does not parse (an edit in progress) still counts, with no imports of its own.
    """
    root = project_root.resolve()
    seen: set[Path] = set()
    pending = [entry.resolve()]
    while pending:
        path = pending.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        pending.extend(_package_inits(root, path))
        for module in _imported_modules(root, path):
            pending.extend(_module_files(root, module))
    return seen


def _package_inits(root: Path, path: Path) -> list[Path]:
    """Importing a.b.c runs a/__init__.py and a/b/__init__.py first."""
    inits = []
    folder = path.parent
    while folder != root and root in folder.parents:
        inits.append(folder / "__init__.py")
        folder = folder.parent
    return inits


def _imported_modules(root: Path, path: Path) -> set[str]:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return set()
    relative = path.relative_to(root).with_suffix("")
    package_parts = list(relative.parts[:-1])  # a/b/c.py and a/b/__init__.py both sit in package a.b
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package_parts[: len(package_parts) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if not base:
                continue
            modules.add(base)
            # `from lib.fetching import fetch` may name a submodule rather than an attribute.
            modules.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return modules


def _module_files(root: Path, module: str) -> list[Path]:
    """Files under the root that importing `module` runs: each dotted prefix's module or package."""
    parts = module.split(".")
    files = []
    for end in range(1, len(parts) + 1):
        base = root.joinpath(*parts[:end])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                files.append(candidate)
    return files


def affected_functions(project_root: Path, handlers: Mapping[str, str], changed: Iterable[Path]) -> list[str]:
    """The functions whose handler module imports, directly or not, any of the changed files."""
    changed_files = {Path(path).resolve() for path in changed}
    return [
        name
        for name, handler in handlers.items()
        if changed_files & project_imports(project_root, handler_file(project_root, handler))
    ]


# --- the watcher -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reload:
    functions: tuple[str, ...]
    changed: tuple[str, ...]  # paths relative to the project root
    failed: Mapping[str, str]  # function -> why its fresh worker did not start
    milliseconds: float


class HotReloader:
    """Watches handlers/ and lib/ (and stats serverless.yml) and reloads the functions a change affects."""

    def __init__(
        self,
        runtime: LambdaRuntime,
        *,
        serverless_yml: Path | None = None,
        on_reload: Callable[[Reload], None] | None = None,
        on_config_change: Callable[[Path], None] | None = None,
    ):
        self.runtime = runtime
        self.project_root = runtime.project_root
        self.serverless_yml = serverless_yml
        self.reloads: list[Reload] = []
        self.config_changes = 0
        self._on_reload = on_reload
        self._on_config_change = on_config_change
        self._stop = threading.Event()
        self._watching = threading.Event()
        self._thread: threading.Thread | None = None
        self._config_stamp = self._stamp(serverless_yml)

    def start(self, timeout: float = 10.0) -> None:
        """Start watching; returns once the watcher is in place, so that no save is missed after it."""
        # watchfiles' own "N changes detected" at INFO would repeat what the reload line says.
        logging.getLogger("watchfiles").setLevel(logging.WARNING)
        dirs = [self.project_root / name for name in WATCHED_DIRS if (self.project_root / name).is_dir()]
        self._thread = threading.Thread(target=self._watch, args=(dirs,), name="hot-reload", daemon=True)
        self._thread.start()
        if not self._watching.wait(timeout):
            raise RuntimeError("the file watcher did not start")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _watch(self, dirs: list[Path]) -> None:
        changes_seen = watchfiles.watch(
            *dirs,
            watch_filter=watchfiles.PythonFilter(),
            stop_event=self._stop,
            rust_timeout=IDLE_WAKE_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
        )
        for changes in changes_seen:
            self._watching.set()
            if changes:
                self._reload(sorted({Path(path) for _, path in changes}))
            self._check_config()

    def _reload(self, changed: list[Path]) -> None:
        began = time.perf_counter()
        for path in changed:
            _drop_bytecode(path)
        handlers = {name: self.runtime.spec(name).handler for name in self.runtime.function_names}
        functions = affected_functions(self.project_root, handlers, changed)
        relative = tuple(sorted(_relative(self.project_root, path) for path in changed))
        if not functions:
            logger.info("%s changed; no function imports it", ", ".join(relative))
            return
        failed: dict[str, str] = {}
        # Each function's fresh workers import at once: the reload takes as long as the slowest.
        with ThreadPoolExecutor(max_workers=len(functions), thread_name_prefix="reload") as pool:
            for name, error in zip(functions, pool.map(self._reload_one, functions), strict=True):
                if error:
                    failed[name] = error
        reload = Reload(tuple(functions), relative, failed, (time.perf_counter() - began) * 1000)
        fine = [name for name in functions if name not in failed]
        if fine:
            changed_list = ", ".join(relative)
            logger.info("reloaded %s (%s changed) in %.0f ms", ", ".join(fine), changed_list, reload.milliseconds)
        for name, error in failed.items():
            logger.error("reload of %s failed, its events fail until the next save: %s", name, error)
        if self._on_reload is not None:
            self._on_reload(reload)
        # Last: whoever waits on the record finds the terminal told already.
        self.reloads.append(reload)

    def _reload_one(self, name: str) -> str | None:
        try:
            self.runtime.reload(name)
        except InvocationError as error:
            return f"{error.error_type}: {error.error_message.strip().splitlines()[-1]}"
        return None

    def _check_config(self) -> None:
        stamp = self._stamp(self.serverless_yml)
        if stamp == self._config_stamp:
            return
        self._config_stamp = stamp
        assert self.serverless_yml is not None
        logger.warning(
            "%s changed: restart the stack to apply it (functions, events and resources are built at start)",
            self.serverless_yml.name,
        )
        if self._on_config_change is not None:
            self._on_config_change(self.serverless_yml)
        self.config_changes += 1

    @staticmethod
    def _stamp(path: Path | None) -> tuple[int, int] | None:
        if path is None:
            return None
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size


def _drop_bytecode(path: Path) -> None:
    # A .pyc records its source's mtime in whole seconds and its size: a same-size save within the
    # second would otherwise let the fresh worker load the old code.
    if path.suffix == ".py":
        Path(importlib.util.cache_from_source(str(path))).unlink(missing_ok=True)


def _relative(root: Path, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)
