"""Children that die with the stack, however the stack dies: a lifeline pipe.

The stack process makes one pipe and keeps its write end open, never writing to it. Each child it
starts gets the read end (`child_environment` and `pass_fds`) and watches it: a read returns only
at end of file, which the kernel signals once every write end is closed, that is when the stack
process is gone, even by SIGKILL. The child then ends its own process group (what it started
itself) and exits at once.

Why not PR_SET_PDEATHSIG: it fires when the *thread* that started the child exits, not the
process, and the stack starts children from short-lived threads; nor does it reach a child's own
children. The write end is close-on-exec, so no child holds it; the stack does not fork without
exec, which would copy it.

A Python child calls `follow_parent()` as it starts; a program that cannot (ministack) is started
through `python -m local.processes.lifeline COMMAND...`, which runs it as its child and ends it likewise.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping

VARIABLE = "LOCAL_LIFELINE_FD"
# The exit status of a child whose stack is gone: 128 + SIGHUP, as for a closed terminal.
ORPHANED_EXIT = 129

_lock = threading.Lock()
_pipe: tuple[int, int] | None = None


def child_environment(env: Mapping[str, str]) -> tuple[dict[str, str], tuple[int, ...]]:
    """`env` with the lifeline added, and the descriptors to pass: `Popen(..., env=e, pass_fds=fds)`."""
    read_end = _read_end()
    return {**env, VARIABLE: str(read_end)}, (read_end,)


def _read_end() -> int:
    global _pipe
    with _lock:
        if _pipe is None:
            _pipe = os.pipe()  # both ends close-on-exec: only pass_fds hands the read end on
        return _pipe[0]


def follow_parent() -> None:
    """In a child: exit as soon as the stack that started it is gone, with whatever it started in
    its own process group. Does nothing when started without a lifeline (by hand, or in-process)."""
    read_end = _inherited()
    if read_end is not None:
        _watch(read_end, lambda: None)


def _inherited() -> int | None:
    declared = os.environ.pop(VARIABLE, None)
    if declared is None:
        return None
    read_end = int(declared)
    os.set_inheritable(read_end, False)  # this process's own children are its to end
    return read_end


def _watch(read_end: int, before_exit: Callable[[], None]) -> None:
    def wait_for_end_of_file() -> None:
        try:
            while os.read(read_end, 512):
                pass  # never written to: only end of file, or an error, ends the wait
        except OSError:
            pass
        before_exit()
        if os.getpgid(0) == os.getpid():
            # It leads its group (the stack starts children in sessions of their own): end the
            # group, which holds what it started, and itself.
            os.killpg(0, signal.SIGKILL)
        os._exit(ORPHANED_EXIT)

    threading.Thread(target=wait_for_end_of_file, name="lifeline", daemon=True).start()


def main(argv: list[str]) -> int:
    """`python -m local.processes.lifeline COMMAND...`: runs COMMAND as its child and ends it, with
    this process's group, when the stack is gone. Otherwise it exits with COMMAND's status, and
    passes SIGTERM and SIGINT on to it."""
    read_end = _inherited()
    child = subprocess.Popen(argv)
    if read_end is not None:
        _watch(read_end, child.kill)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, _frame: child.send_signal(received))
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
