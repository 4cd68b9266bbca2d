"""DetectLabels against recorded Amazon Rekognition answers (a benchmark, not a test).

    .venv/bin/python tests/bench/labels_bench.py [--data DIR] [--endpoint URL] [--limit N] [--json OUT]
        [--alongside URL]

DIR holds images/ and aws-detectlabels.json (default: ../shared/benchmarks/labels beside the
project, or $LABELS_DATA). The images stay there: nothing is copied into the project. Without
--endpoint the local service is started on a free port and stopped afterwards. --alongside URL sends
each image to another Rekognition endpoint too (another version of the service), the two in turn
first, so that both see the same load, and prints that endpoint's median and the ratio of medians.

Scored as the shared score.py scores: label names compared case-insensitively as sets per image,
both sides cut at --min-confidence, micro precision/recall/F1. It also prints per-label recall and
precision, and the reliability of our confidences per band (the share of labels reported in
50-60, 60-70, ... that Rekognition also gave). Then, unless --no-cross-validation, the
cross-validated figure of label_fitting.py (the label rules chosen on four fifths of the photos and
scored on the fifth they did not see, for each fifth) with each label's precision beside the
service's. The last line reads `labels: precision <p> recall <r> f1 <f> [cross-validated precision
<p> recall <r> f1 <f>] images <n> median <ms> ms`.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT))  # run as a script, as `make bench-labels` does
sys.path.insert(0, str(Path(__file__).resolve().parent))  # label_fitting beside it
DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "benchmarks" / "labels"
BANDS = (50, 60, 70, 80, 90, 101)  # 100 itself falls in the last band


class LocalService:
    """`python -m local rekognition --port 0`, as a child process, until stop()."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local", "rekognition", "--port", "0"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.url = re.search(r"(http://\S+)", self._next_line(120)).group(1)
        print(self._next_line(300), file=sys.stderr)  # "models ready in ... s": latency excludes warm-up

    def _pump(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line.strip())
        self._lines.put(None)

    def _next_line(self, timeout: float) -> str:
        line = self._lines.get(timeout=timeout)
        if line is None:
            raise RuntimeError(f"the service exited with code {self.process.wait()}")
        return line

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def score(reference: dict, answers: dict, min_confidence: float) -> dict:
    """Micro precision/recall/F1, per-label counts and per-band reliability.

    `reference` maps image name -> [{"name", "confidence"}] (Rekognition's recorded answer),
    `answers` maps image name -> {label name: confidence} (ours)."""
    tp = fp = fn = 0
    wanted, found, reported, right = (collections.Counter() for _ in range(4))
    band_total, band_right = collections.Counter(), collections.Counter()
    for name, ours in answers.items():
        want = {x["name"].lower() for x in reference[name] if x["confidence"] >= min_confidence}
        got = {label.lower(): confidence for label, confidence in ours.items() if confidence >= min_confidence}
        tp += len(want & got.keys())
        fp += len(got.keys() - want)
        fn += len(want - got.keys())
        for label in want:
            wanted[label] += 1
            found[label] += label in got
        for label, confidence in got.items():
            reported[label] += 1
            right[label] += label in want
            band = max(b for b in BANDS if b <= confidence)
            band_total[band] += 1
            band_right[band] += label in want
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn)
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "wanted": wanted,
        "found": found,
        "reported": reported,
        "right": right,
        "bands": {band: (band_total[band], band_right[band]) for band in BANDS[:-1]},
    }


def print_report(result: dict, top: int) -> None:
    print(f"most frequent reference labels ({top}): recall, and precision where we report the label")
    print(f"  {'label':22s} {'found':>9s} {'recall':>6s} {'reported':>8s} {'precision':>9s}")
    for label, count in result["wanted"].most_common(top):
        hits, reported = result["found"][label], result["reported"][label]
        precision = f"{result['right'][label] / reported:.2f}" if reported else "-"
        print(f"  {label:22s} {hits:4d}/{count:<4d} {hits / count:6.2f} {reported:8d} {precision:>9s}")
    misses = [(label, n) for label, n in result["reported"].most_common() if label not in result["wanted"]]
    if misses:
        print("reported but never in the reference: " + ", ".join(f"{label} {n}" for label, n in misses[:15]))
    print("reliability by our confidence: share of reported labels that Rekognition also gave")
    for band, (total, right) in result["bands"].items():
        upper = min(band + 10, 100)
        share = f"{right / total:.2f}" if total else "-"
        print(f"  {band:3d}-{upper:<3d} {right:5d}/{total:<5d} {share}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("LABELS_DATA") or str(DEFAULT_DATA))
    parser.add_argument("--endpoint", help="score this endpoint instead of starting the local service")
    parser.add_argument("--alongside", help="time this endpoint too, image by image, for a latency ratio")
    parser.add_argument("--min-confidence", type=float, default=50.0)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--top", type=int, default=30, help="how many reference labels to list")
    parser.add_argument("--json", help="write our labels and confidences per image to this file")
    parser.add_argument(
        "--no-cross-validation", action="store_true", help="score the service only, without label_fitting.py's figure"
    )
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not (data / "aws-detectlabels.json").is_file() or not (data / "images").is_dir():
        print(
            f"labels: skipped: no benchmark data in {data} (set LABELS_DATA to a folder with images/ "
            "and aws-detectlabels.json)"
        )
        return 0

    from botocore.config import Config

    from local.aws.credentials import fake_session

    reference = json.loads((data / "aws-detectlabels.json").read_text())
    names = sorted(reference)[: args.limit or None]
    service = None if args.endpoint else LocalService()
    try:

        def client(url: str):
            return fake_session("us-east-1", url).client(
                "rekognition", config=Config(retries={"max_attempts": 2}, read_timeout=60)
            )

        def timed(rekognition, image: bytes) -> tuple[dict, float]:
            started = time.perf_counter()
            response = rekognition.detect_labels(
                Image={"Bytes": image}, MaxLabels=50, MinConfidence=args.min_confidence
            )
            return response, (time.perf_counter() - started) * 1000

        rekognition = client(args.endpoint or service.url)
        other = client(args.alongside) if args.alongside else None
        answers, times, other_times = {}, [], []
        for i, name in enumerate(names, 1):
            image = (data / "images" / name).read_bytes()
            if other is not None and i % 2:
                other_times.append(timed(other, image)[1])
            response, elapsed = timed(rekognition, image)
            times.append(elapsed)
            if other is not None and not i % 2:
                other_times.append(timed(other, image)[1])
            answers[name] = {label["Name"]: label["Confidence"] for label in response["Labels"]}
            if i % 50 == 0:
                print(f"  {i}/{len(names)} images", file=sys.stderr)
    finally:
        if service is not None:
            service.stop()
    if args.json:
        Path(args.json).write_text(json.dumps(answers, indent=1, sort_keys=True))
    result = score(reference, answers, args.min_confidence)
    print_report(result, args.top)
    cross_validated = None
    if not args.no_cross_validation:
        from label_fitting import cross_validated_report, per_label_precision

        cross_validated, rule_lines = cross_validated_report(data, names, reference)
        print("\n".join(rule_lines))
        print(per_label_precision({"service": result, "cross-validated": cross_validated}))
    if other_times:
        ours, theirs = statistics.median(times), statistics.median(other_times)
        print(f"alongside {args.alongside}: median {theirs:.0f} ms; ours / theirs {ours / theirs:.2f}")
    figures = f"precision {result['precision']:.3f} recall {result['recall']:.3f} f1 {result['f1']:.3f}"
    if cross_validated is not None:
        figures += (
            f" cross-validated precision {cross_validated['precision']:.3f} recall {cross_validated['recall']:.3f}"
            f" f1 {cross_validated['f1']:.3f}"
        )
    print(f"labels: {figures} images {len(names)} median {statistics.median(times):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
