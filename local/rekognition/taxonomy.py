"""Rekognition-style labels from ImageNet class probabilities, using taxonomy.json.

Each class lists the labels it shows directly (its own name and the labels on its row in
taxonomy_classes.csv). A label's probability mass is the sum of the probabilities of the classes
that list it, so the 118 dog breeds pool into Dog. The mass is measured against the label's prior
share of classes, excess = (mass - prior) / (1 - prior), so that a uniform guess over many classes
earns nothing, and the confidence is 100 * sqrt(excess), which lifts a clear winner (mass 0.9 -> 95)
the way Rekognition reports recognizable objects in the 90s while keeping diffuse guesses low
(mass 0.2 -> 45). Ancestors (Mammal, Animal...) then take the confidence of their most confident
descendant: a parent is implied by its child, but a pile of weak, unrelated children does not add
up to a confident parent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

TAXONOMY_PATH = Path(__file__).resolve().parent / "taxonomy.json"
# Labels below this confidence are not worth propagating to their parents.
_PROPAGATION_FLOOR = 1.0


@dataclass(frozen=True)
class LabelInfo:
    name: str
    parents: tuple[str, ...]
    categories: tuple[str, ...]
    aliases: tuple[str, ...]

    @property
    def depth(self) -> int:
        return len(self.parents)


class Taxonomy:
    def __init__(self, data: dict) -> None:
        self.labels = {
            name: LabelInfo(name, tuple(e["parents"]), tuple(e["categories"]), tuple(e["aliases"]))
            for name, e in data["labels"].items()
        }
        self.class_names = [entry["imagenet"] for entry in data["classes"]]
        self._names = sorted(self.labels)
        row = {name: i for i, name in enumerate(self._names)}
        membership = np.zeros((len(self._names), len(data["classes"])), dtype=np.float32)
        for entry in data["classes"]:
            for label in entry["labels"]:
                membership[row[label], entry["index"]] = 1.0
        self._membership = membership
        self._prior = membership.mean(axis=1)

    @property
    def class_count(self) -> int:
        return self._membership.shape[1]

    def info(self, name: str) -> LabelInfo:
        return self.labels.get(name) or LabelInfo(name, (), (), ())

    def confidences(self, class_probabilities: np.ndarray) -> dict[str, float]:
        """Label name -> confidence (0-100) for every label with any evidence."""
        mass = self._membership @ np.asarray(class_probabilities, dtype=np.float32)
        headroom = np.maximum(1.0 - self._prior, 1e-6)
        excess = np.clip((mass - self._prior) / headroom, 0.0, 1.0)
        confidence = 100.0 * np.sqrt(excess)
        result = {self._names[i]: float(confidence[i]) for i in np.flatnonzero(confidence > 0)}
        return propagate_to_parents(result, self.labels)


def propagate_to_parents(confidences: dict[str, float], labels: dict[str, LabelInfo]) -> dict[str, float]:
    """Raise each parent to at least the confidence of its most confident descendant."""
    result = dict(confidences)
    for name, confidence in confidences.items():
        if confidence < _PROPAGATION_FLOOR or name not in labels:
            continue
        for parent in labels[name].parents:
            if result.get(parent, 0.0) < confidence:
                result[parent] = confidence
    return result


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    return Taxonomy(json.loads(TAXONOMY_PATH.read_text(encoding="utf-8")))
