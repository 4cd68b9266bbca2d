"""The local Lambda runtime: warm workers, Lambda's context and environment, timeouts, crashes, clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.functions.forking import ZYGOTE_SUPPORTED
from local.functions.runtime import FunctionInitError, FunctionSpec, InvocationError, InvocationTimeout, LambdaRuntime
from tests.support.waiting import wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = "tests/integration/sample_handlers"


def sample(name: str, module: str | None = None, *, timeout: float = 5.0, **options) -> FunctionSpec:
    return FunctionSpec(name=name, handler=f"{SAMPLES}/{module or name}.handler", timeout=timeout, **options)


def process_is_gone(pid: int) -> bool:
    """True once the pid no longer runs; a zombie awaiting its reaper counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except (OSError, IndexError):
            return True
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout
    return not state.strip() or state.strip().startswith("Z")


def living_children() -> set[int]:
    with subprocess.Popen(["ps", "-A", "-o", "pid=,ppid=,stat="], stdout=subprocess.PIPE, text=True) as listing:
        output, _ = listing.communicate(timeout=10)
    children = set()
    for line in output.splitlines():
        pid, ppid, state = line.split(None, 2)
        if int(ppid) == os.getpid() and int(pid) != listing.pid and not state.startswith("Z"):
            children.add(int(pid))
    return children


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "workers.log"


@pytest.fixture
def runtime(log_path: Path) -> Iterator[LambdaRuntime]:
    functions = [
        sample("echo", environment={"SAMPLE_SETTING": "from-serverless-yml"}, timeout=7, memory_mb=512),
        sample("failing"),
        sample("printing"),
        sample("unserialisable"),
        sample("decimals"),
        sample("structured_logging"),
        sample("crashy"),
        sample("sleepy", timeout=0.5),
        sample("slow", "sleepy", timeout=20),
    ]
    # Forked from a zygote that imports nothing: the sample handlers need none of the shared imports.
    with LambdaRuntime(
        functions, project_root=PROJECT_ROOT, log_path=log_path, region="eu-west-1", preload=()
    ) as started:
        yield started


# --- warm invocations -------------------------------------------------------------------------------
def test_given_echo_handler_when_invoked_then_result_comes_back_from_a_separate_worker_process(runtime):
    result = runtime.invoke("echo", {"image": "rocket.jpg", "tags": ["a", "b"]})

    assert result["event"] == {"image": "rocket.jpg", "tags": ["a", "b"]}
    assert result["pid"] != os.getpid()
    assert result["pid"] == runtime.worker_pid("echo")


def test_given_function_spec_when_invoked_then_handler_sees_lambda_environment_and_context(runtime):
    result = runtime.invoke("echo", {})

    assert result["environment"] == {
        "AWS_LAMBDA_FUNCTION_NAME": "echo",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "7",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/echo",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "LAMBDA_TASK_ROOT": str(PROJECT_ROOT),
        "PYTHONUNBUFFERED": "1",
        "SAMPLE_SETTING": "from-serverless-yml",
    }
    assert Path(result["cwd"]) == PROJECT_ROOT
    context = result["context"]
    assert context["function_name"] == "echo"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == "arn:aws:lambda:eu-west-1:000000000000:function:echo"
    assert context["memory_limit_in_mb"] == "512"
    assert context["log_group_name"] == "/aws/lambda/echo"
    assert "[$LATEST]" in context["log_stream_name"]
    assert uuid.UUID(context["aws_request_id"]).version == 4
    assert 6000 < context["remaining_ms"] <= 7000


def test_given_two_invocations_when_worker_is_warm_then_same_process_serves_both_with_new_request_ids(runtime):
    first = runtime.invoke("echo", {})
    second = runtime.invoke("echo", {})

    assert first["pid"] == second["pid"]
    assert second["invocations_in_this_process"] == first["invocations_in_this_process"] + 1
    assert first["context"]["aws_request_id"] != second["context"]["aws_request_id"]
    assert runtime.stats("echo") == {"invocations": 2, "errors": 0, "timeouts": 0, "cold_starts": 1}


def test_given_started_runtime_then_cold_start_time_is_reported_per_function(runtime):
    assert runtime.cold_start_ms("echo") > 0
    assert runtime.cold_start_ms("structured_logging") > 0


def test_given_concurrent_invocations_of_one_function_then_they_run_one_after_the_other(runtime):
    results: list[dict] = []

    def invoke() -> None:
        results.append(runtime.invoke("slow", {"seconds": 0.3}))

    threads = [threading.Thread(target=invoke) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(results) == 2
    first, second = sorted(results, key=lambda result: result["started"])
    assert second["started"] >= first["finished"], "one worker must run one event at a time"
    assert first["pid"] == second["pid"]


def test_given_unknown_function_when_invoked_then_key_error_names_it(runtime):
    with pytest.raises(KeyError, match="no-such-function"):
        runtime.invoke("no-such-function", {})


# --- handler failures -------------------------------------------------------------------------------
def test_given_handler_raises_when_invoked_then_invocation_error_carries_type_and_worker_stays_warm(runtime):
    pid_before = runtime.worker_pid("failing")

    with pytest.raises(InvocationError) as raised:
        runtime.invoke("failing", {"message": "not an image"})

    assert not isinstance(raised.value, InvocationTimeout)
    assert raised.value.error_type == "ImageRejected"
    assert raised.value.error_message == "not an image"
    assert raised.value.function_name == "failing"
    assert any("failing.py" in line for line in raised.value.stack_trace)
    assert runtime.invoke("failing", {"fail": False})["pid"] == pid_before
    assert runtime.stats("failing") == {"invocations": 2, "errors": 1, "timeouts": 0, "cold_starts": 1}


def test_given_handler_returns_unserialisable_value_when_invoked_then_marshal_error(runtime):
    with pytest.raises(InvocationError) as raised:
        runtime.invoke("unserialisable", {})

    assert raised.value.error_type == "Runtime.MarshalError"
    assert "set" in raised.value.error_message


def test_given_handler_returns_decimals_when_invoked_then_they_arrive_as_json_numbers(runtime):
    assert runtime.invoke("decimals", {}) == {"count": 3, "confidence": 99.5}


def test_given_handler_writes_to_stdout_when_invoked_then_protocol_is_intact_and_output_is_logged(runtime, log_path):
    assert runtime.invoke("printing", {}) == {"answer": 42}
    assert runtime.invoke("printing", {}) == {"answer": 42}

    wait_until(lambda: log_path.read_text().count("junk!") == 2, timeout=5, what="handler output in the log")
    log = log_path.read_text()
    assert "plain print to stdout" in log
    assert "a line on stderr" in log


def test_given_powertools_logger_when_invoked_then_lambda_context_fields_are_in_the_structured_log(runtime, log_path):
    assert runtime.invoke("structured_logging", {"marker": "m-123"}) == {"logged": "m-123"}

    def structured_line() -> dict | None:
        for line in log_path.read_text().splitlines():
            if '"marker"' in line and "m-123" in line:
                return json.loads(line)
        return None

    wait_until(lambda: structured_line() is not None, timeout=5, what="the powertools log line")
    line = structured_line()
    assert line["function_name"] == "structured_logging"
    assert line["function_memory_size"] == "1024"
    assert line["function_arn"] == "arn:aws:lambda:eu-west-1:000000000000:function:structured_logging"
    assert uuid.UUID(line["function_request_id"])
    assert line["cold_start"] is True


# --- timeouts ---------------------------------------------------------------------------------------
def test_given_handler_exceeds_timeout_when_invoked_then_worker_is_killed_and_next_call_cold_starts(runtime):
    hung_pid = runtime.worker_pid("sleepy")
    started = time.monotonic()

    with pytest.raises(InvocationTimeout) as raised:
        runtime.invoke("sleepy", {"seconds": 600})

    assert time.monotonic() - started < 2.0
    assert raised.value.error_type == "Sandbox.Timedout"
    assert "Task timed out after 0.50 seconds" in raised.value.error_message
    assert process_is_gone(hung_pid)
    result = runtime.invoke("sleepy", {"seconds": 0})
    assert result["pid"] not in (hung_pid, None)
    assert runtime.stats("sleepy") == {"invocations": 2, "errors": 1, "timeouts": 1, "cold_starts": 2}


def test_given_hung_handler_with_a_child_process_when_timed_out_then_the_child_dies_too(runtime, tmp_path):
    child_pid_file = tmp_path / "child.pid"

    with pytest.raises(InvocationTimeout):
        runtime.invoke("sleepy", {"seconds": 600, "child_pid_file": str(child_pid_file)})

    child_pid = int(child_pid_file.read_text())
    wait_until(lambda: process_is_gone(child_pid), timeout=5, what=f"grandchild {child_pid} to die")


# --- crashes ----------------------------------------------------------------------------------------
def test_given_handler_exits_the_process_when_invoked_then_invocation_error_and_fresh_worker_next_time(runtime):
    crashed_pid = runtime.worker_pid("crashy")

    with pytest.raises(InvocationError) as raised:
        runtime.invoke("crashy", {"exit_code": 7})

    assert not isinstance(raised.value, InvocationTimeout)
    assert raised.value.error_type == "Runtime.ExitError"
    assert "exit status 7" in raised.value.error_message
    assert process_is_gone(crashed_pid)
    assert runtime.invoke("crashy", {"crash": False})["pid"] != crashed_pid
    assert runtime.stats("crashy")["cold_starts"] == 2


def test_given_idle_worker_killed_externally_when_invoked_then_a_fresh_worker_serves_the_event(runtime):
    killed_pid = runtime.kill_worker("echo")

    assert killed_pid is not None and process_is_gone(killed_pid)
    result = runtime.invoke("echo", {"after": "kill"})
    assert result["event"] == {"after": "kill"}
    assert result["pid"] != killed_pid


def test_given_worker_killed_mid_invocation_then_that_invocation_fails_without_waiting_for_the_timeout(
    runtime,
):
    outcome: dict[str, BaseException] = {}

    def invoke() -> None:
        try:
            runtime.invoke("slow", {"seconds": 600})
        except InvocationError as error:
            outcome["error"] = error

    thread = threading.Thread(target=invoke)
    assert not runtime.is_busy("slow")
    started = time.monotonic()
    thread.start()
    wait_until(lambda: runtime.is_busy("slow"), timeout=5, what="the invocation to start")
    runtime.kill_worker("slow")
    thread.join(timeout=5)

    assert time.monotonic() - started < 5
    assert not runtime.is_busy("slow")
    assert outcome["error"].error_type == "Runtime.ExitError"
    assert "signal: kill" in outcome["error"].error_message
    assert runtime.invoke("slow", {"seconds": 0})["pid"] is not None


# --- start-up and shutdown --------------------------------------------------------------------------
def test_given_handler_that_fails_to_import_when_started_then_error_names_function_and_shows_traceback():
    functions = [sample("echo"), sample("broken", "broken_import")]
    children_before = living_children()

    with pytest.raises(FunctionInitError) as raised:
        LambdaRuntime(functions, project_root=PROJECT_ROOT, log_path=None).start()

    assert raised.value.function_name == "broken"
    assert raised.value.error_type == "Runtime.ImportModuleError"
    assert "'broken'" in str(raised.value)
    assert "a_dependency_nobody_installed" in str(raised.value)
    assert "Traceback" in str(raised.value)
    assert living_children() <= children_before, "the healthy worker must not be left behind"


def test_given_handler_path_without_module_attribute_when_started_then_handler_not_found():
    runtime = LambdaRuntime([FunctionSpec("missing", f"{SAMPLES}/echo.no_such_function", 3)], project_root=PROJECT_ROOT)

    with pytest.raises(FunctionInitError) as raised:
        runtime.start()

    assert raised.value.error_type == "Runtime.HandlerNotFound"


def test_given_hung_invocation_when_stopped_then_stop_is_prompt_and_no_process_is_left(tmp_path):
    child_pid_file = tmp_path / "child.pid"
    runtime = LambdaRuntime(
        [sample("slow", "sleepy", timeout=60), sample("echo")],
        project_root=PROJECT_ROOT,
        log_path=tmp_path / "workers.log",
    )
    runtime.start()
    worker_pids = [runtime.worker_pid("slow"), runtime.worker_pid("echo")]
    outcome: dict[str, BaseException] = {}

    def invoke() -> None:
        try:
            runtime.invoke("slow", {"seconds": 600, "child_pid_file": str(child_pid_file)})
        except InvocationError as error:
            outcome["error"] = error

    thread = threading.Thread(target=invoke)
    thread.start()
    wait_until(child_pid_file.exists, timeout=5, what="the handler to start its child process")
    child_pid = int(child_pid_file.read_text())

    started = time.monotonic()
    runtime.stop()
    thread.join(timeout=5)

    assert time.monotonic() - started < 3
    assert isinstance(outcome.get("error"), InvocationError)
    for pid in worker_pids:
        assert process_is_gone(pid), f"worker {pid} survived stop()"
    wait_until(lambda: process_is_gone(child_pid), timeout=5, what=f"grandchild {child_pid} to die")
    with pytest.raises(InvocationError):
        runtime.invoke("echo", {})


def test_given_a_project_with_a_handlers_package_when_invoked_then_it_imports_from_the_project_root(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "__init__.py").write_text("GREETING = 'hello from the project root'\n")
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "__init__.py").write_text("")
    (tmp_path / "handlers" / "names.py").write_text("def name(event):\n    return event['name']\n")
    (tmp_path / "handlers" / "greet.py").write_text(
        "from shared import GREETING\n"
        "from .names import name\n\n"
        "def handler(event, context):\n"
        "    return {'greeting': GREETING, 'name': name(event), 'module': __name__}\n"
    )

    with LambdaRuntime([FunctionSpec("greet", "handlers/greet.handler", 3)], project_root=tmp_path) as runtime:
        result = runtime.invoke("greet", {"name": "ada"})

    assert result == {"greeting": "hello from the project root", "name": "ada", "module": "handlers.greet"}


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def test_a_pool_runs_up_to_its_concurrency_at_once_and_never_more(log_path):
    spec = sample("sleepy", concurrency=2)
    with LambdaRuntime([spec], project_root=PROJECT_ROOT, log_path=log_path, preload=()) as runtime:
        # Both workers warm first: a cold start slower than the events would let one do them all.
        runtime.prewarm("sleepy", 5)  # asks for more than the concurrency: gets two
        results: list[dict] = []
        threads = [
            threading.Thread(target=lambda: results.append(runtime.invoke("sleepy", {"seconds": 0.5})))
            for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(results) == 6
        # THEN two workers served them, two at a time: in parallel, but never three
        assert len({result["pid"] for result in results}) == 2
        assert _most_at_once([(r["started"], r["finished"]) for r in results]) == 2
        assert runtime.peak_concurrency("sleepy") == 2 == runtime.concurrency("sleepy")
        assert runtime.stats("sleepy")["cold_starts"] == 2
        assert len(runtime.worker_pids("sleepy")) == 2


def test_replaced_workers_are_retired_and_the_next_event_starts_a_fresh_one(log_path):
    with LambdaRuntime(
        [sample("echo", concurrency=3)], project_root=PROJECT_ROOT, log_path=log_path, preload=()
    ) as runtime:
        runtime.prewarm("echo", 3)
        before = set(runtime.worker_pids("echo"))
        assert len(before) == 3
        assert runtime.replace_workers("echo") == 3
        assert all(process_is_gone(pid) for pid in before)
        assert runtime.invoke("echo", {})["pid"] not in before
        assert runtime.stats("echo")["cold_starts"] == 4


# --- memory size ----------------------------------------------------------------------------------------
def test_given_handler_past_its_memory_size_then_the_worker_is_killed_with_lambdas_out_of_memory_error(log_path):
    with LambdaRuntime(
        [sample("hungry", memory_mb=160, timeout=20)], project_root=PROJECT_ROOT, log_path=log_path
    ) as runtime:
        assert runtime.invoke("hungry", {"mb": 16})["held_mb"] == 16
        pid = runtime.worker_pid("hungry")

        with pytest.raises(InvocationError) as raised:
            runtime.invoke("hungry", {"mb": 400})

        assert raised.value.error_type == "Runtime.OutOfMemory"
        assert "Runtime exited with error: signal: killed" in raised.value.error_message
        assert "of 160 MB" in raised.value.error_message
        assert process_is_gone(pid)
        assert runtime.invoke("hungry", {"mb": 16})["pid"] != pid


# --- the zygote ---------------------------------------------------------------------------------------
FORKED = pytest.param(
    ("boto3", "aws_lambda_powertools"),
    id="forked",
    marks=pytest.mark.skipif(not ZYGOTE_SUPPORTED, reason="the zygote needs Linux (AF_UNIX SOCK_SEQPACKET)"),
)


def _keys(access_key: str) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": f"{access_key}-secret"}


@pytest.mark.parametrize("preload", [FORKED, None], ids=["forked", "fresh-interpreter"])
def test_workers_forked_from_the_zygote_have_the_shared_imports_and_each_its_own_environment(log_path, preload):
    functions = [
        sample("first", "preloaded", environment={"SAMPLE_SETTING": "first", **_keys("role-one")}),
        sample("second", "preloaded", environment={"SAMPLE_SETTING": "second", **_keys("role-two")}),
    ]
    with LambdaRuntime(functions, project_root=PROJECT_ROOT, log_path=log_path, preload=preload) as runtime:
        first, second = runtime.invoke("first", {}), runtime.invoke("second", {})

    # THEN each saw its own function's environment from its first line of code
    assert (first["setting"], first["key"]) == ("first", "role-one")
    assert (second["setting"], second["key"]) == ("second", "role-two")
    assert first["function_name"] == "first" and second["function_name"] == "second"
    # AND forked workers found the shared imports loaded already, and boto3's session warmed, but no project code
    assert first["preloaded"] == second["preloaded"] == (preload is not None)
    assert first["inherited_session"] == second["inherited_session"] == (preload is not None)
    # AND a client built on that inherited session signs with the worker's own role, not another's
    assert (first["signing_key"], second["signing_key"]) == ("role-one", "role-two")
    assert first["project_modules"] == second["project_modules"] == []


@pytest.mark.skipif(not ZYGOTE_SUPPORTED, reason="the zygote needs Linux (AF_UNIX SOCK_SEQPACKET)")
def test_given_the_zygote_dies_then_its_workers_exit_and_the_next_event_forks_from_a_new_one(log_path):
    with LambdaRuntime([sample("echo")], project_root=PROJECT_ROOT, log_path=log_path, preload=()) as runtime:
        worker = runtime.invoke("echo", {})["pid"]
        zygote = runtime.zygote_pid
        assert zygote is not None

        os.kill(zygote, signal.SIGKILL)
        wait_until(lambda: process_is_gone(worker), timeout=10, what="the orphaned worker to exit")

        answer = runtime.invoke("echo", {})
        assert answer["pid"] != worker
        assert runtime.zygote_pid not in (None, zygote)
