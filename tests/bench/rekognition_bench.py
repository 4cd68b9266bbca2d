"""Benchmark of the local Rekognition service (not a test): start-up and per-call latency.

    .venv/bin/python tests/bench/rekognition_bench.py [--calls 30]

Starts the service as the local stack does (`python -m local.rekognition.cli --port 0`), first
with an empty model cache (the classifier is converted to ONNX) and then again with the cache
filled, and measures median latencies through boto3 against the second process.
"""

from __future__ import annotations

import argparse
import io
import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
sys.path.insert(0, str(PROJECT_ROOT))


class ServiceProcess:
    def __init__(self, cache_dir: str) -> None:
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.rekognition.cli", "--port", "0"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "REKOGNITION_CACHE_DIR": cache_dir, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        listening = self.lines.get(timeout=120)
        self.listening_seconds = time.perf_counter() - started
        self.url = re.search(r"(http://\S+)", listening).group(1)
        ready = self.lines.get(timeout=300)
        self.ready_seconds = time.perf_counter() - started
        self.reported_seconds = float(re.search(r"ready in ([0-9.]+) s", ready).group(1))

    def _pump(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def client(url: str):
    from botocore.config import Config

    from local.aws.credentials import fake_session

    return fake_session("us-east-1", url).client("rekognition", config=Config(retries={"total_max_attempts": 1}))


def jpeg_640x427() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(FIXTURES / "coffee.jpg").convert("RGB").resize((640, 427)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def median_ms(call, calls: int) -> tuple[float, float]:
    for _ in range(3):
        call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.9 * (len(samples) - 1))]


def conversion_seconds() -> float:
    """The checkpoint-to-ONNX conversion alone, into an empty cache, imports excluded."""
    import onnx  # noqa: F401 - imported before timing, as the service has it imported already

    from local.rekognition import effnet_onnx

    with tempfile.TemporaryDirectory() as cache_dir:
        os.environ["REKOGNITION_CACHE_DIR"] = cache_dir
        try:
            started = time.perf_counter()
            _, converted = effnet_onnx.cached_model_path()
            assert converted
            return time.perf_counter() - started
        finally:
            del os.environ["REKOGNITION_CACHE_DIR"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30, help="measured calls per operation (default 30)")
    args = parser.parse_args()

    conversion = conversion_seconds()
    with tempfile.TemporaryDirectory() as cache_dir:
        cold = ServiceProcess(cache_dir)
        cold.stop()
        warm = ServiceProcess(cache_dir)
        try:
            rekognition = client(warm.url)
            photo = {"Bytes": jpeg_640x427()}
            astronaut = {"Bytes": (FIXTURES / "astronaut.jpg").read_bytes()}
            sign = {"Bytes": (FIXTURES / "sign.png").read_bytes()}
            rows = [
                ("DetectLabels 640x427 JPEG", lambda: rekognition.detect_labels(Image=photo)),
                (
                    "DetectLabels + IMAGE_PROPERTIES",
                    lambda: rekognition.detect_labels(Image=photo, Features=["GENERAL_LABELS", "IMAGE_PROPERTIES"]),
                ),
                ("DetectFaces 640x427 JPEG", lambda: rekognition.detect_faces(Image=photo)),
                ("DetectFaces astronaut 512x512", lambda: rekognition.detect_faces(Image=astronaut)),
                ("DetectText sign 640x240 PNG", lambda: rekognition.detect_text(Image=sign)),
                ("DetectModerationLabels 640x427", lambda: rekognition.detect_moderation_labels(Image=photo)),
            ]
            results = [(name, *median_ms(call, args.calls)) for name, call in rows]
            engine = "tesseract" if shutil.which("tesseract") else "rapidocr"
        finally:
            warm.stop()

    print(f"local Rekognition benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, OCR: {engine}")
    print()
    print(f"{'start-up':<34}{'listening':>12}{'models ready':>15}")
    print(f"{'cold cache (converts to ONNX)':<34}{cold.listening_seconds:>11.2f}s{cold.ready_seconds:>14.2f}s")
    print(f"{'warm cache':<34}{warm.listening_seconds:>11.2f}s{warm.ready_seconds:>14.2f}s")
    print(f"{'  (warm-up as the service reports)':<34}{'':>12}{warm.reported_seconds:>14.2f}s")
    print(f"{'  (ONNX conversion alone)':<34}{'':>12}{conversion:>14.2f}s")
    print()
    print(f"{'operation, through boto3':<34}{'median':>12}{'p90':>15}")
    for name, median, p90 in results:
        print(f"{name:<34}{median:>10.1f}ms{p90:>13.1f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
