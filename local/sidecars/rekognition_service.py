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
from typing import TYPE_CHECKING, Any

from lib.deadline import Deadline
from local.aws.credentials import FAKE_CREDENTIALS
from local.aws.warmup import warm_rekognition
from local.errors import StackError
from local.functions.background import Background
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
    """The Rekognition part of LocalStack (local/stack.py), which sets these attributes and methods."""

    options: StackOptions
    topology: Topology
    iam: LocalIam | None
    rekognition_url: str
    rekognition_process: subprocess.Popen[str] | None
    rekognition_warmup_ms: float | None
    _rekognition_models_ready: threading.Event
    _rekognition_warming: Background | None
    _rekognition_denials: list[str]

    if TYPE_CHECKING:

        def session(self) -> Any: ...
        def physical(self, logical_id: str) -> str: ...
        @staticmethod
        def _progress(message: str, began: float) -> None: ...

    def _rekognition_endpoint(self, aws_endpoint: str) -> str:
        if self.options.rekognition == "moto" and not self.options.rekognition_tps:
            return aws_endpoint
        if self.options.rekognition == "aws":
            return f"https://rekognition.{self.topology.region}.amazonaws.com"
        # The port is chosen now, so the functions' environment can name the service before it listens.
        return f"http://127.0.0.1:{_free_port()}"

    def _start_rekognition(self, aws_endpoint: str) -> None:
        tps = self.options.rekognition_tps
        if self.options.rekognition == "aws" or self.rekognition_url == aws_endpoint:
            return
        port = self.rekognition_url.rsplit(":", 1)[1]
        command = [sys.executable, "-m", "local", "rekognition", "--port", port]
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
            command += ["--features", ",".join(sorted({"labels", *self._recognition_features()}))]
        env = {
            **os.environ,
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": aws_endpoint,
            "AWS_DEFAULT_REGION": self.topology.region,
        }
        if self.iam is not None:
            env["LOCAL_REKOGNITION_CALLERS"] = self.iam.rekognition_callers(self.topology, aws_endpoint)
        env, lifeline_fds = lifeline.child_environment(env)  # it exits when this process is gone
        self.rekognition_process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            pass_fds=lifeline_fds,
            stdout=subprocess.PIPE,
            stderr=None if self.options.log_path is None else subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )

    def _wait_for_rekognition(self, timeout: float = 30.0) -> None:
        """Waits for the service to listen; its models keep warming in the background."""
        if self.rekognition_process is None:
            return
        assert self.rekognition_process.stdout is not None
        deadline = Deadline(timeout)
        while not deadline.expired:
            line = self.rekognition_process.stdout.readline()
            if not line:
                raise StackError(f"the local Rekognition service exited with code {self.rekognition_process.wait()}")
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                if match.group(1).rstrip("/") != self.rekognition_url:
                    raise StackError(
                        f"the local Rekognition service listens on {match.group(1)}, not {self.rekognition_url}"
                    )
                # Keep draining its stdout so the service never blocks on a full pipe.
                threading.Thread(
                    target=_drain,
                    args=(self.rekognition_process.stdout, self._rekognition_denials, self._rekognition_models_ready),
                    daemon=True,
                ).start()
                return
        raise StackError(f"the local Rekognition service did not start listening within {timeout:g} s")

    def _warmed_rekognition(self) -> None:
        if self._rekognition_warming is not None:
            self._rekognition_warming.join()

    def _recognition_features(self) -> list[str]:
        """RECOGNITION_FEATURES of the recognize function, as serverless.yml sets it for the stage."""
        declared = next(
            (f.environment.get("RECOGNITION_FEATURES", "") for f in self.topology.functions if f.name == "recognize"),
            "",
        )
        return [name.strip() for name in str(declared).split(",") if name.strip()]

    def _listen_and_warm_rekognition(self, began: float) -> None:
        self._wait_for_rekognition()
        self._warm_rekognition(began)

    def _warm_rekognition(self, began: float, timeout: float = 120.0) -> None:
        """`ready` means a recognition call is served warm: the models loaded, and each used once."""
        if self.options.rekognition != "local":
            return  # moto answers at once; real Rekognition is AWS's to keep warm, and bills each call
        if not self._rekognition_models_ready.wait(timeout):
            raise StackError(f"the local Rekognition service did not load its models within {timeout:.0f} s")
        rekognition = self.session().client("rekognition", endpoint_url=self.rekognition_url)
        took = warm_rekognition(rekognition, FIXTURES_DIR / WARMUP_IMAGE, self._recognition_features())
        self.rekognition_warmup_ms = took
        self._progress(f"rekognition warm (one call of each operation: {took:.0f} ms)", began)

    def _stop_rekognition(self) -> None:
        process, self.rekognition_process = self.rekognition_process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _drain(stream: Any, denials: list[str], models_ready: threading.Event) -> None:
    for line in stream:
        if "models ready" in line:
            models_ready.set()
        logger.debug("rekognition: %s", line.rstrip())
        if line.startswith("IAM denied: "):
            denials.append(line.removeprefix("IAM denied: ").rstrip())
