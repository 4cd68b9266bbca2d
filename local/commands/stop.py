"""`python -m local stop`: stops the stack that the endpoints file names, by the pid it recorded.

For a `make local` running in the background or in another terminal. The stack stops as on
Ctrl-C: every process it started ends, and it removes the endpoints file itself. Signalling make's
own pid would not do: make waits on its child and passes nothing on.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from local.endpoints import endpoints_file, read_endpoints, shown
from local.waiting import WaitTimedOut, wait_until

STOP_TIMEOUT_SECONDS = 30.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local stop", description=__doc__)
    parser.add_argument("--timeout", type=float, default=STOP_TIMEOUT_SECONDS, help="seconds to wait for it to stop")
    args = parser.parse_args(argv)
    where = endpoints_file()
    try:
        endpoints = read_endpoints(where)
    except FileNotFoundError:
        print(f"stop: no stack is running here ({shown(where)} does not exist)")
        return 0
    except (OSError, ValueError) as error:
        print(f"stop: cannot read {shown(where)}: {error}", file=sys.stderr)
        return 1
    pid = endpoints.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        print(f"stop: {shown(where)} names no pid; stop that stack with Ctrl-C in its terminal", file=sys.stderr)
        return 1
    if not _is_local_stack(pid):
        where.unlink(missing_ok=True)
        print(f"stop: the stack of pid {pid} is gone (it did not stop cleanly); removed the stale {shown(where)}")
        return 0
    began = time.monotonic()
    os.kill(pid, signal.SIGTERM)  # handled as Ctrl-C is (local/commands/up.py)
    try:
        wait_until(lambda: not _alive(pid), args.timeout, f"pid {pid} to stop", 0.05)
    except WaitTimedOut as error:
        print(f"stop: {error}; it may still be stopping (kill -TERM {pid} again, or look at its terminal)")
        return 1
    where.unlink(missing_ok=True)  # a clean stop removed it already; one that crashed on the way did not
    print(f"stop: stopped the stack of pid {pid} ({endpoints.get('api')}) in {time.monotonic() - began:.1f} s")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, but not ours to stop
    # A child that exited but was not reaped yet is a zombie: it stopped.
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _is_local_stack(pid: int) -> bool:
    """Alive, and (where /proc tells) running `local up`: a pid reused since is never signalled."""
    if not _alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.is_dir():
        return True  # no /proc (macOS): the endpoints file is the only witness
    try:
        arguments = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    return b"local" in arguments and b"up" in arguments
