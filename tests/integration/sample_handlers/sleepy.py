"""Sleeps for event["seconds"]; optionally starts a child process first, to prove it dies too."""

import os
import subprocess
import sys
import time
from pathlib import Path


def handler(event, context):
    started = time.time()
    child_pid_file = event.get("child_pid_file")
    if child_pid_file:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        # Written whole, then renamed: a test that waits for the file never reads it half-written.
        written = Path(child_pid_file + ".partial")
        written.write_text(str(child.pid))
        written.rename(child_pid_file)
    time.sleep(event.get("seconds", 600))
    return {"pid": os.getpid(), "started": started, "finished": time.time()}
