"""Hot reload on a running runtime: a save replaces the affected function's workers, and only those.

The project is a copy in a temporary directory, so that no test edits the real tree. No assertion
is about time: each waits on a condition with a deadline.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.functions.reload import HotReloader, Reload
from local.functions.runtime import FunctionSpec, LambdaRuntime
from tests.support.waiting import wait_until

UPLOAD = """\
import os
import time
from pathlib import Path

from lib.shape import shape

VERSION = "{version}"


def handler(event, context):
    hold = event.get("hold")
    while hold and not Path(hold).exists():  # an event kept in flight until the test lets it go
        time.sleep(0.02)
    with open(os.environ["RAN_LOG"], "a") as ran:
        ran.write(event["id"] + "\\n")
    return shape(VERSION, event)
"""

SHAPE = """\
import os


def shape(version, event):
    return {"version": version, "id": event["id"], "pid": os.getpid()}
"""

IMAGES = """\
import os


def handler(event, context):
    return {"pid": os.getpid()}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name, text in {
        "handlers/__init__.py": "",
        "handlers/upload.py": UPLOAD.format(version="v1"),
        "handlers/images.py": IMAGES,
        "lib/__init__.py": "",
        "lib/shape.py": SHAPE,
        "serverless.yml": "service: sample\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def runtime(project: Path, tmp_path: Path) -> Iterator[LambdaRuntime]:
    env = {**os.environ, "RAN_LOG": str(tmp_path / "ran.log")}
    functions = [
        FunctionSpec("upload", "handlers/upload.handler", 30, concurrency=2),
        FunctionSpec("images", "handlers/images.handler", 30, concurrency=2),
    ]
    with LambdaRuntime(functions, project_root=project, base_env=env, log_path=tmp_path / "workers.log") as started:
        started.prewarm("upload", 2)
        started.prewarm("images", 2)
        yield started


@pytest.fixture
def reloader(runtime: LambdaRuntime, project: Path) -> Iterator[HotReloader]:
    watcher = HotReloader(runtime, serverless_yml=project / "serverless.yml")
    watcher.start()
    yield watcher
    watcher.stop()


def save(path: Path, text: str) -> None:
    path.write_text(text)


def reloaded(reloader: HotReloader, count: int = 1) -> Reload:
    wait_until(lambda: len(reloader.reloads) >= count, timeout=30, what="the reload")
    return reloader.reloads[count - 1]


def test_saving_a_handler_changes_the_next_answer_and_restarts_no_other_function(runtime, reloader, project, caplog):
    caplog.set_level(logging.INFO, logger="local.functions.reload")
    assert runtime.invoke("upload", {"id": "before"})["version"] == "v1"
    images_pids = set(runtime.worker_pids("images"))
    images_cold_starts = runtime.stats("images")["cold_starts"]
    upload_pids = set(runtime.worker_pids("upload"))

    save(project / "handlers/upload.py", UPLOAD.format(version="v2"))

    reload = reloaded(reloader)
    assert reload.functions == ("upload",)
    assert reload.changed == ("handlers/upload.py",)
    assert not reload.failed
    answer = runtime.invoke("upload", {"id": "after"})
    assert answer["version"] == "v2"
    assert answer["pid"] not in upload_pids
    # THEN the other function kept its warm workers
    assert set(runtime.worker_pids("images")) == images_pids
    assert runtime.stats("images")["cold_starts"] == images_cold_starts
    assert "reloaded upload (handlers/upload.py changed)" in caplog.text


def test_saving_lib_reloads_the_functions_that_import_it(runtime, reloader, project):
    images_pids = set(runtime.worker_pids("images"))

    save(project / "lib/shape.py", SHAPE.replace('"version": version', '"version": version + "-lib"'))

    assert reloaded(reloader).functions == ("upload",)
    assert runtime.invoke("upload", {"id": "after"})["version"] == "v1-lib"
    assert set(runtime.worker_pids("images")) == images_pids


def test_a_reload_under_load_loses_nothing_runs_nothing_twice_and_stays_within_the_concurrency(
    runtime, reloader, project, tmp_path
):
    release = tmp_path / "release"
    results: list[dict] = []
    errors: list[BaseException] = []

    def invoke(event: dict) -> None:
        try:
            results.append(runtime.invoke("upload", event))
        except BaseException as error:  # collected, so that the test reports it rather than a thread
            errors.append(error)

    # GIVEN an event in flight on the old code when the file is saved
    in_flight = threading.Thread(target=invoke, args=({"id": "in-flight", "hold": str(release)},))
    in_flight.start()
    wait_until(lambda: runtime.is_busy("upload"), timeout=10, what="the held event to start")

    # AND events that keep coming while the file is saved and the workers are replaced
    stop_sending = threading.Event()
    sent: list[str] = []

    def send(sender: int) -> None:
        for n in itertools.count():
            if stop_sending.is_set():
                return
            sent.append(f"event-{sender}-{n}")
            invoke({"id": f"event-{sender}-{n}"})

    senders = [threading.Thread(target=send, args=(n,)) for n in (0, 1)]
    for sender in senders:
        sender.start()
    wait_until(lambda: len(results) >= 2, timeout=30, what="events before the save")
    save(project / "handlers/upload.py", UPLOAD.format(version="v2"))
    reloaded(reloader)
    wait_until(lambda: sum(r["version"] == "v2" for r in results) >= 4, timeout=30, what="events on the new code")
    stop_sending.set()
    for sender in senders:
        sender.join(timeout=30)
    release.touch()
    in_flight.join(timeout=30)

    assert not errors
    by_id = {result["id"]: result for result in results}
    # THEN the held event finished on the code it started with, and every event ran exactly once
    assert by_id["in-flight"]["version"] == "v1"
    assert sorted(by_id) == sorted([*sent, "in-flight"]) and len(results) == len(sent) + 1
    assert {by_id[one]["version"] for one in sent} == {"v1", "v2"}
    ran = Counter((tmp_path / "ran.log").read_text().split())
    assert ran == Counter([*sent, "in-flight"])
    # AND the pool never held more worker processes than its concurrency, starting ones included
    assert runtime.peak_workers("upload") <= runtime.concurrency("upload") == 2
    assert by_id["in-flight"]["pid"] not in runtime.worker_pids("upload")


def test_a_handler_that_no_longer_imports_is_reported_and_the_next_save_recovers(runtime, reloader, project):
    save(project / "handlers/upload.py", "def handler(event, context):\n    return (\n")

    assert "SyntaxError" in reloaded(reloader).failed["upload"]

    save(project / "handlers/upload.py", UPLOAD.format(version="v3"))
    assert not reloaded(reloader, 2).failed
    assert runtime.invoke("upload", {"id": "fixed"})["version"] == "v3"


def test_a_change_to_serverless_yml_is_reported_as_needing_a_restart(runtime, reloader, project, caplog):
    caplog.set_level(logging.INFO, logger="local.functions.reload")
    pids = set(runtime.worker_pids("upload"))

    save(project / "serverless.yml", "service: sample\nprovider:\n  name: aws\n")

    wait_until(lambda: reloader.config_changes == 1, timeout=30, what="the serverless.yml change to be seen")
    assert "serverless.yml changed: restart the stack to apply it" in caplog.text
    assert set(runtime.worker_pids("upload")) == pids


def test_an_event_during_a_reload_waits_for_the_fresh_worker_rather_than_start_one_past_the_limit(project, tmp_path):
    env = {**os.environ, "RAN_LOG": str(tmp_path / "ran.log")}
    spec = FunctionSpec("upload", "handlers/upload.handler", 30, concurrency=1)
    with LambdaRuntime([spec], project_root=project, base_env=env) as runtime:
        watcher = HotReloader(runtime)
        watcher.start()
        try:
            cold_starts = runtime.stats("upload")["cold_starts"]
            # GIVEN new code whose import takes a while, so that an event arrives while it loads
            save(project / "handlers/upload.py", "import time\ntime.sleep(1)\n" + UPLOAD.format(version="v2"))
            wait_until(lambda: runtime.stats("upload")["cold_starts"] > cold_starts, timeout=30, what="the reload")

            answer = runtime.invoke("upload", {"id": "during"})

            assert answer["version"] == "v2"
            assert runtime.stats("upload")["cold_starts"] == cold_starts + 1
            assert runtime.peak_workers("upload") == 1
        finally:
            watcher.stop()
