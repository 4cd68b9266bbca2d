"""The Rekognition endpoint of a local stack: the local service in a process of its own, or moto's, or AWS's.

The service's models take the longest of anything to load and depend on nothing else, so the
stack starts the process first, waits only for it to listen, and has `ready` wait until one call
of each operation the recognize function uses was served warm.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lib.config import parse_features
from lib.deadline import Deadline
from local.aws.credentials import FAKE_CREDENTIALS, fake_session
from local.aws.warmup import warm_rekognition
from local.errors import StackError
from local.functions.background import Background
from local.http_serving import listening_socket
from local.paths import FIXTURES_DIR, PROJECT_ROOT
from local.processes import lifeline
from local.topology import Topology

if TYPE_CHECKING:
    from local.aws.iam import LocalIam
    from local.stack_options import StackOptions

logger = logging.getLogger("local.stack")

# Small, and with a face and text nearby in the fixtures; any JPEG would warm the models.
WARMUP_IMAGE = "chelsea.jpg"


class RekognitionSidecar:
    """The Rekognition endpoint the functions call, and the process that serves it when it is local.

    `options` is read when each step runs: the ministack start sets REKOGNITION=local on it first.
    `progress(message, began)` reports the warm-up in the stack's start-up lines.
    """

    def __init__(
        self,
        options: StackOptions,
        topology: Topology,
        iam: LocalIam | None,
        progress: Callable[[str, float], None],
    ):
        self.options = options
        self.topology = topology
        self.region = topology.region
        self.features = recognition_features(topology)
        self.iam = iam
        self.progress = progress
        self.url = ""
        # The local service's socket, listening from plan() on and handed to its process at start().
        self._listening: socket.socket | None = None
        self.process: subprocess.Popen[str] | None = None
        self.warmup_ms: float | None = None  # set once a warm-up call was served, before ready
        # Lines "IAM denied: ..." the service printed, oldest first.
        self.denials: list[str] = []
        self._models_ready = threading.Event()
        self._warming: Background | None = None

    def plan(self, aws_endpoint: str) -> str:
        """Chooses the endpoint (`url`) before anything starts, and returns it."""
        if self.options.rekognition == "moto" and not self.options.rekognition_tps:
            self.url = aws_endpoint
        elif self.options.rekognition == "aws":
            self.url = f"https://rekognition.{self.region}.amazonaws.com"
        else:
            # The port is chosen now, so the functions' environment can name the service before it
            # listens, and held from now on: the process serves this very socket (--fd), so no other
            # bind or connection can take the port in between. Calls made before it serves wait.
            self._close_listening()
            self._listening = listening_socket("127.0.0.1")
            self.url = f"http://127.0.0.1:{self._listening.getsockname()[1]}"
        return self.url

    def start(self, aws_endpoint: str) -> None:
        tps = self.options.rekognition_tps
        if self.options.rekognition == "aws" or self.url == aws_endpoint:
            return
        if self._listening is None:
            raise StackError("the local Rekognition service was started without plan()")
        fd = self._listening.fileno()
        command = [sys.executable, "-m", "local", "rekognition", "--fd", str(fd)]
        if self.options.rekognition == "moto":
            # moto's canned answer behind the quota (local/rekognition/quota_proxy.py).
            command += ["--upstream", aws_endpoint]
        if tps:
            command += ["--tps", str(tps)]
        if self.options.rekognition_fail_rate:
            command += ["--fail-rate", str(self.options.rekognition_fail_rate)]
        if self.options.rekognition == "local":
            # Only the models of the features recognize uses load before ready; others on first use.
            # lib/config.py always adds labels to the features.
            command += ["--features", ",".join(sorted({"labels", *self.features}))]
        env = {
            **os.environ,
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": aws_endpoint,
            "AWS_DEFAULT_REGION": self.region,
        }
        if self.iam is not None:
            env["LOCAL_REKOGNITION_CALLERS"] = self.iam.rekognition_callers(self.topology, aws_endpoint)
        env, lifeline_fds = lifeline.child_environment(env)  # it exits when this process is gone
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            pass_fds=(*lifeline_fds, fd),
            stdout=subprocess.PIPE,
            stderr=None if self.options.log_path is None else subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self._close_listening()  # the process has its own copy; the port stays held by it

    def _close_listening(self) -> None:
        listening, self._listening = self._listening, None
        if listening is not None:
            listening.close()

    def wait_listening(self, timeout: float = 30.0) -> None:
        """Waits for the service to listen; its models keep warming in the background."""
        if self.process is None:
            return
        assert self.process.stdout is not None
        deadline = Deadline(timeout)
        while not deadline.expired:
            line = self.process.stdout.readline()
            if not line:
                raise StackError(f"the local Rekognition service exited with code {self.process.wait()}")
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                if match.group(1).rstrip("/") != self.url:
                    raise StackError(f"the local Rekognition service listens on {match.group(1)}, not {self.url}")
                # Keep draining its stdout so the service never blocks on a full pipe.
                threading.Thread(
                    target=_drain,
                    args=(self.process.stdout, self.denials, self._models_ready),
                    daemon=True,
                ).start()
                return
        raise StackError(f"the local Rekognition service did not start listening within {timeout:g} s")

    def warm_in_background(self, began: float) -> None:
        """Its models take the longest to load and depend on nothing else: they load, and are
        warmed with one call, while the rest starts; `wait_warm` waits for them."""
        self._warming = Background(lambda: self._listen_and_warm(began), "rekognition")

    def wait_warm(self) -> None:
        if self._warming is not None:
            self._warming.join()

    def _listen_and_warm(self, began: float) -> None:
        self.wait_listening()
        self._warm(began)

    def _warm(self, began: float, timeout: float = 120.0) -> None:
        """`ready` means a recognition call is served warm: the models loaded, and each used once."""
        if self.options.rekognition != "local":
            return  # moto answers at once; real Rekognition is AWS's to keep warm, and bills each call
        if not self._models_ready.wait(timeout):
            raise StackError(f"the local Rekognition service did not load its models within {timeout:.0f} s")
        rekognition = fake_session(self.region, self.url).client("rekognition")
        took = warm_rekognition(rekognition, FIXTURES_DIR / WARMUP_IMAGE, self.features)
        self.warmup_ms = took
        self.progress(f"rekognition warm (one call of each operation: {took:.0f} ms)", began)

    def stop(self) -> None:
        self._close_listening()  # planned, never started
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def recognition_features(topology: Topology) -> list[str]:
    """RECOGNITION_FEATURES of the recognize function, as serverless.yml sets it for the stage."""
    declared = next(
        (f.environment.get("RECOGNITION_FEATURES", "") for f in topology.functions if f.name == "recognize"),
        "",
    )
    return sorted(parse_features(str(declared)))


def _drain(stream: Any, denials: list[str], models_ready: threading.Event) -> None:
    for line in stream:
        if "models ready" in line:
            models_ready.set()
        logger.debug("rekognition: %s", line.rstrip())
        if line.startswith("IAM denied: "):
            denials.append(line.removeprefix("IAM denied: ").rstrip())
