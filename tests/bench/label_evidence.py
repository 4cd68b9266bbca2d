"""What the local Rekognition's models see in each benchmark photo, before any label rule: the
classifier's class probabilities, the faces, the body detections and the scene's color statistics.

The fitting step (label_fitting.py) replays the label rules on this evidence many times over, so it
is computed once per photo in this process and kept in a cache outside the repository's tracked
files (.local/bench/), keyed by the photo's bytes and the models' files.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CACHE_PATH = PROJECT_ROOT / ".local" / "bench" / "label-evidence.pickle"
_MODELS = ("classifier", "faces", "people", "taxonomy")


@dataclass
class PhotoEvidence:
    probabilities: np.ndarray
    faces: list  # faces.Face
    people: list  # (geometry.Box, score)
    scene: object  # scene.SceneStatistics
    width: int
    height: int

    @cached_property
    def classified(self) -> dict[str, float]:
        """The classifier's label confidences before calibration (taxonomy.py)."""
        from local.rekognition.taxonomy import default_taxonomy

        return default_taxonomy().confidences(self.probabilities)


def collect(images: Path, names: list[str]) -> dict[str, PhotoEvidence]:
    """Name -> PhotoEvidence for each photo in `images`, from the cache where it is current."""
    from local.rekognition.effnet_onnx import cached_model_path

    version = cached_model_path()[0].name
    cache = _read_cache()
    if cache.get("version") != version:
        cache = {"version": version, "photos": {}}
    photos, models, fresh = cache["photos"], None, 0
    result = {}
    for i, name in enumerate(names, 1):
        data = (images / name).read_bytes()
        key = hashlib.sha256(data).hexdigest()
        if key not in photos:
            models = models or _ready_models()
            photos[key] = _evidence(data, models)
            fresh += 1
            if fresh % 50 == 0:
                print(f"  evidence {i}/{len(names)}", file=sys.stderr)
        result[name] = photos[key]
    if fresh:
        CACHE_PATH.parent.mkdir(parents=True, exist_ok=True)
        CACHE_PATH.write_bytes(pickle.dumps(cache))
    return result


def _read_cache() -> dict:
    try:
        return pickle.loads(CACHE_PATH.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        return {}


def _ready_models():
    from local.rekognition.models import ModelSet

    models = ModelSet(preload=_MODELS)
    models.start_warm_up()
    models.wait_ready()
    return models


def _evidence(data: bytes, models) -> PhotoEvidence:
    from local.rekognition.request_image import decode_image
    from local.rekognition.scene import scene_statistics

    image = decode_image(data)
    return PhotoEvidence(
        probabilities=models.get("classifier").classify(image.rgb).probabilities,
        faces=models.get("faces").detect(image.pixels),
        people=models.get("people").detect(image.pixels),
        scene=scene_statistics(image.rgb),
        width=image.width,
        height=image.height,
    )
