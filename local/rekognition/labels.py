"""General labels: an ImageNet classifier (EfficientNet-Lite0 on onnxruntime) mapped through the
taxonomy, merged with what the person detectors and the scene's colors show."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .calibration import calibrate
from .context import ContextRule, context_evidence
from .effnet_onnx import CLASS_MAPS_NAME, INPUT_NAME, INPUT_SIZE, OUTPUT_NAME, cached_model_path
from .faces import Face
from .geometry import Box
from .label_choices import LabelChoices, shipped_choices
from .onnx_sessions import open_session
from .person_labels import person_evidence, person_instances
from .scene import SceneStatistics, scene_evidence
from .taxonomy import LabelInfo, Taxonomy, propagate_to_parents

# The weights were trained on inputs scaled as (x - 127) / 128.
_MEAN, _SCALE = 127.0, 128.0
# Classes whose maps are blended into the subject heatmap.
_HEATMAP_CLASSES = 5


@dataclass(frozen=True)
class Classification:
    probabilities: np.ndarray  # (1000,), averaged over the whole-image and center-crop views
    whole_image_maps: np.ndarray  # (1000, 7, 7) class evidence over the whole image

    def subject_heatmap(self) -> np.ndarray:
        """7 x 7 map in [0, 1] of where the evidence for the top classes lies."""
        top = np.argsort(-self.probabilities)[:_HEATMAP_CLASSES]
        heat = np.tensordot(self.probabilities[top], self.whole_image_maps[top], axes=1)
        heat -= heat.min()
        peak = heat.max()
        return heat / peak if peak > 0 else heat


class ImageNetClassifier:
    def __init__(self) -> None:
        self.model_path, self.converted = cached_model_path()
        try:
            self._session = open_session(self.model_path)
        except Exception:  # onnxruntime raises untyped errors for bad files
            # A damaged cache file: convert again once, and let a second failure surface.
            self.model_path.unlink(missing_ok=True)
            self.model_path, self.converted = cached_model_path()
            self._session = open_session(self.model_path)

    def classify(self, image) -> Classification:
        """`image` is a PIL RGB image of any size."""
        batch = np.stack([_to_input(_whole_view(image)), _to_input(_center_view(image))])
        logits, maps = self._session.run([OUTPUT_NAME, CLASS_MAPS_NAME], {INPUT_NAME: batch})
        shifted = logits - logits.max(axis=1, keepdims=True)
        probabilities = np.exp(shifted)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return Classification(probabilities=probabilities.mean(axis=0), whole_image_maps=maps[0])

    def warm_up(self) -> None:
        from PIL import Image

        self.classify(Image.new("RGB", (INPUT_SIZE, INPUT_SIZE), (128, 128, 128)))


def _whole_view(image):
    """The whole image squeezed to the input size: nothing at the edges is lost."""
    from PIL import Image

    return image.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)


def _center_view(image):
    """The central square at the usual 224/256 crop ratio: the training distribution's framing."""
    from PIL import Image

    side = min(image.width, image.height) * INPUT_SIZE / 256
    left, top = (image.width - side) / 2, (image.height - side) / 2
    return image.resize(
        (INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR, box=(left, top, left + side, top + side), reducing_gap=2.0
    )


def _to_input(view) -> np.ndarray:
    array = (np.asarray(view, dtype=np.float32) - _MEAN) / _SCALE
    return array.transpose(2, 0, 1)


@dataclass
class DetectedLabel:
    info: LabelInfo
    confidence: float  # 0-100
    instances: list[tuple[Box, float]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.info.name


def general_labels(
    classification: Classification | None,
    faces: list[Face],
    people: list[tuple[Box, float]],
    scene: SceneStatistics | None,
    taxonomy: Taxonomy,
    image_width: int,
    image_height: int,
    choices: LabelChoices | None = None,
) -> list[DetectedLabel]:
    """label_confidences() as labels, most confident first, the more specific label first among
    equals, with the Person instances."""
    classified = taxonomy.confidences(classification.probabilities) if classification is not None else None
    confidences = label_confidences(classified, faces, people, scene, taxonomy, image_width, image_height, choices)
    instances = {"Person": person_instances(faces, people, image_width, image_height)}
    labels = [
        DetectedLabel(taxonomy.info(name), confidence, instances.get(name, []))
        for name, confidence in confidences.items()
    ]
    labels.sort(key=lambda label: (-label.confidence, -label.info.depth, label.name))
    return labels


def label_confidences(
    classified: dict[str, float] | None,
    faces: list[Face],
    people: list[tuple[Box, float]],
    scene: SceneStatistics | None,
    taxonomy: Taxonomy,
    image_width: int,
    image_height: int,
    choices: LabelChoices | None = None,
) -> dict[str, float]:
    """Classifier labels (`classified`: taxonomy.confidences() of the classifier's probabilities),
    labels from people (faces and bodies) and from the scene's colors, with their parents, then the
    contextual labels what is reported together implies (context.py), merged by name keeping the
    highest confidence, less the withheld labels. `choices` are the fitted values
    (label_choices.py), the shipped ones unless given."""
    choices = shipped_choices() if choices is None else choices
    confidences = calibrate(classified, choices.cuts) if classified is not None else {}
    evidence = person_evidence(faces, people, image_width, image_height)
    if scene is not None:
        evidence.update(scene_evidence(scene, confidences.get("Nature", 0.0), choices.scene_cuts))
    confidences = propagate_to_parents(_merged(confidences, evidence), taxonomy.labels)
    if scene is not None:
        confidences = with_context(confidences, scene, taxonomy, choices.rules)
    return {name: confidence for name, confidence in confidences.items() if name not in choices.withheld}


def with_context(
    confidences: dict[str, float], scene: SceneStatistics, taxonomy: Taxonomy, rules: tuple[ContextRule, ...]
) -> dict[str, float]:
    """Contextual labels until no rule adds anything more: a label one rule gives (City for buildings
    with traffic) is evidence for another (Metropolis for a city with traffic). Each round that goes
    on raises at least one label to a rule's confidence, and confidences only rise, so this ends."""
    while True:
        context = context_evidence(confidences, scene, rules)
        if all(confidences.get(name, 0.0) >= confidence for name, confidence in context.items()):
            return confidences
        confidences = propagate_to_parents(_merged(confidences, context), taxonomy.labels)


def _merged(confidences: dict[str, float], evidence: dict[str, float]) -> dict[str, float]:
    """Both, keeping the higher confidence of a label named in each."""
    merged = dict(confidences)
    for name, confidence in evidence.items():
        merged[name] = max(merged.get(name, 0.0), confidence)
    return merged
