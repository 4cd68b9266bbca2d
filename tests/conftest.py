"""The whole suite: each test's tier marker from its folder, and what keeps tests apart when
`make test` runs them in parallel (pytest-xdist, one process per worker).

The rules a new test follows, so that it passes alone, in any order and beside any other test:

- Ports: bind port 0 (the kernel picks a free one) and read the port back; never a fixed number.
  LocalStack(options) does this for every listener unless `api_port` is set.
- Files: write under `tmp_path` / `tmp_path_factory`, never under the project (`.local/`). A stack
  gets `log_dir` or `log_path` from tmp_path_factory; `isolated_state` below points
  LOCAL_ENDPOINTS_FILE at the test's own temporary file, for the test and any `python -m local`
  it runs, so no test reads or replaces the endpoints file of a developer's `make local`.
- Environment: change variables with `monkeypatch`, which puts them back after the test.
- Emulators: moto's in-memory state is per process (each xdist worker is one), and starting or
  stopping any in-process moto resets all of it: use the `aws` fixture (integration) or a stack
  of your own stage, never state another test set up, and keep one in-process moto per fixture.
- Expensive fixtures (a stack, a browser) are module- or session-scoped, and a test names them as
  arguments (not `request.getfixturevalue`): the tests that share one are grouped (xdist_group,
  named after the fixture) and go to one worker together, so each starts once, not once per
  worker; a session-scoped one stops once its group is done on that worker.
- A test that cannot share the machine (it asserts a rate or a latency, or loads every core) is
  marked `serial`: `make test` runs those alone after the parallel pass.
"""

from __future__ import annotations

import pytest

# The tier of a test is the first folder of its path under tests/; pytest.ini describes each.
TIERS = ("unit", "integration", "e2e", "browser")


@pytest.fixture(autouse=True)
def isolated_state(tmp_path_factory, monkeypatch):
    """Every test, and every process it starts, has an endpoints file of its own."""
    monkeypatch.setenv("LOCAL_ENDPOINTS_FILE", str(tmp_path_factory.mktemp("state") / "endpoints.json"))


# tryfirst: before `-m` selects by marker, and before xdist reads the xdist_group marks.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = _tier(item, config)
        if tier:
            item.add_marker(tier)
        item.stash[_STATIC_FIXTURES] = _definitions(item)
    for item, group in _groups_of_shared_fixtures(items).items():
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_GroupsTogether(), "groups-together")


class _GroupsTogether:
    # trylast: after pytest's own reordering by fixture parameter, and after xdist's hook.
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        """Each group's tests one after another, where its first test was, in serial runs too; a
        worker under xdist receives a group whole."""
        first: dict[str, int] = {}
        for index, item in enumerate(items):
            first.setdefault(_group(item) or item.nodeid, index)
        items.sort(key=lambda item: first[_group(item) or item.nodeid])
        if getattr(config.option, "loadgroup", False):
            _name_groups_in_node_ids(items)


def _name_groups_in_node_ids(items: list[pytest.Item]) -> None:
    """What `--dist loadgroup` does on a worker: "@group" after the node id, which the scheduler
    reads. xdist 3.8 writes `item._nodeid`, which pytest 9 no longer reads (it keeps `item._id`)."""
    from _pytest.nodeid import NodeId

    for item in items:
        group = _group(item)
        if group and not item.nodeid.endswith(f"@{group}"):
            item._id = NodeId.parse(f"{item.nodeid}@{group}")


def _tier(item: pytest.Item, config: pytest.Config) -> str | None:
    try:
        parts = item.path.relative_to(config.rootpath).parts
    except ValueError:
        return None
    return parts[0] if parts and parts[0] in TIERS else None


def _group(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("xdist_group")
    return str(mark.args[0]) if mark and mark.args else None


def _groups_of_shared_fixtures(items: list[pytest.Item]) -> dict[pytest.Item, str]:
    """Tests that share a module- or session-scoped fixture of this suite, directly or through
    another test, in one group; named after one of the fixtures (and its parameter)."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    keys_of: dict[pytest.Item, list[str]] = {}
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        keys = _shared_fixture_keys(item)
        for key in keys[1:]:
            parent[root(key)] = root(keys[0])
        if keys:
            keys_of[item] = keys
    return {item: root(keys[0]) for item, keys in keys_of.items()}


def _shared_fixture_keys(item: pytest.Item) -> list[str]:
    """One key per shared fixture instance the test uses: where it is defined, its name, and the
    parameters of the test's wider-scoped fixtures (a stack on moto is not the one on ministack)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    shared = [_shared_definition(info, name) for name in info.names_closure]
    shared = [definition for definition in shared if definition is not None]
    callspec = getattr(item, "callspec", None)
    wide = {definition.argname for definition in shared}
    params = sorted(f"{name}={value}" for name, value in (callspec.params if callspec else {}).items() if name in wide)
    suffix = f"({','.join(params)})" if params else ""  # no brackets: xdist reads "]" as a test's parameters
    return [f"{definition.baseid or '<root>'}::{definition.argname}{suffix}" for definition in shared]


def _shared_definition(info, name: str):
    definitions = info.name2fixturedefs.get(name)
    if not definitions:
        return None
    definition = definitions[-1]
    # baseid is where the fixture is defined: "" for pytest's own and plugins' (tmp_path_factory).
    return definition if definition.scope in ("module", "package", "session") and definition.baseid else None


# --- session-scoped fixtures end with their group -----------------------------------------------
# In-process moto keeps every emulator's state in module globals, and starting or stopping any of
# them (mock_aws, a stack's MotoEmulator) resets all of it. A session-scoped stack left running on a
# worker after its group would lose its state to the next test there that uses moto, or take
# that test's; so it is stopped as soon as the worker's next test does not use it.
_live: dict = {}
# The fixtures a test names, as collected: request.getfixturevalue adds to the test's own table later.
_STATIC_FIXTURES = pytest.StashKey[frozenset]()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    value = yield
    # Only a fixture the test names as an argument (directly or through another fixture): one it
    # gets with request.getfixturevalue is not in the next test's list either, and would be set up
    # again for each test.
    test = getattr(request, "_pyfuncitem", None)
    named = test.stash.get(_STATIC_FIXTURES, frozenset()) if test is not None else frozenset()
    if fixturedef.scope == "session" and fixturedef.baseid and fixturedef in named:
        _live[fixturedef] = request
    return value


def _definitions(item: pytest.Item) -> frozenset:
    info = getattr(item, "_fixtureinfo", None)
    return frozenset(d for ds in info.name2fixturedefs.values() for d in ds) if info else frozenset()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if nextitem is None:
        return  # the session's end tears everything down
    used_next = nextitem.stash.get(_STATIC_FIXTURES, frozenset())
    for fixturedef, request in list(_live.items()):
        if fixturedef.cached_result is None or fixturedef not in used_next:
            del _live[fixturedef]
            fixturedef.finish(request)  # does nothing if pytest finished it already
