"""Hot reload latency: from saving handlers/upload.py to the first answer on the new code.

Runs the real upload handler in the local runtime on a copy of handlers/ and lib/ (the tree itself
is never edited), with the hot reloader watching the copy. Each round saves a new refusal message
and invokes until the answer carries it; an unsupported content type is refused before any AWS
call, so no emulator is needed. Ends with `reload: median <ms> ms ...`. The goal is 1 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from local.functions.reload import HotReloader  # noqa: E402
from local.functions.runtime import FunctionSpec, LambdaRuntime  # noqa: E402

GOAL_MS = 1000.0
MESSAGE = "send application/json with"
REFUSED = {
    "version": "2.0",
    "rawPath": "/images",
    "headers": {"content-type": "text/plain"},
    "requestContext": {"http": {"method": "POST", "path": "/images"}},
    "body": "not an image",
    "isBase64Encoded": False,
}


def copy_project(target: Path) -> None:
    for folder in ("handlers", "lib"):
        shutil.copytree(ROOT / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))


def measure(rounds: int, concurrency: int) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory(prefix="reload-bench-") as tmp:
        project = Path(tmp)
        copy_project(project)
        upload = project / "handlers" / "upload.py"
        original = upload.read_text()
        env = {**os.environ, "IMAGES_TABLE": "bench", "IMAGES_BUCKET": "bench", "POWERTOOLS_LOG_LEVEL": "WARNING"}
        spec = FunctionSpec("upload", "handlers/upload.handler", 30, concurrency=concurrency)
        with LambdaRuntime([spec], project_root=project, base_env=env, log_path=project / "workers.log") as runtime:
            runtime.prewarm("upload", concurrency)
            reloader = HotReloader(runtime)
            reloader.start()
            try:
                to_answer: list[float] = []
                for n in range(rounds):
                    marker = f"revision {n}:"
                    saved = time.perf_counter()
                    upload.write_text(original.replace(MESSAGE, f"{marker} {MESSAGE}"))
                    while marker not in runtime.invoke("upload", REFUSED)["body"]:
                        time.sleep(0.005)
                    to_answer.append((time.perf_counter() - saved) * 1000)
                    # The next save must not fall into this reload's batch of changes.
                    while len(reloader.reloads) < n + 1:
                        time.sleep(0.01)
                return to_answer, [reload.milliseconds for reload in reloader.reloads]
            finally:
                reloader.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=2, help="warm workers of upload, as in make local")
    args = parser.parse_args()
    to_answer, reloads = measure(args.rounds, args.concurrency)
    print("save to first answer on the new code (ms):", " ".join(f"{value:.0f}" for value in to_answer))
    print("workers replaced, per reload (ms):       ", " ".join(f"{value:.0f}" for value in reloads))
    median = statistics.median(to_answer)
    verdict = "met" if median <= GOAL_MS else "missed"
    print(
        f"reload: median {median:.0f} ms, min {min(to_answer):.0f} ms, max {max(to_answer):.0f} ms "
        f"(n={len(to_answer)}, {args.concurrency} workers, goal {GOAL_MS:.0f} ms: {verdict})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
