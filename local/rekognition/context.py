"""Contextual labels: names Rekognition gives a scene for what it shows together, where no model
here names them directly (no scene classifier ships in a permissively licensed wheel). A car out of
doors stands on a Road; buildings with vehicles make a City street; a mountain range with greenery
is Countryside; a sky glowing orange is a Sunset. The rules are data (label_contexts.csv): the labels
that must all be reported, the least share of one of the scene's colors (scene.py), whether the rule
applies, and the highest confidence it may give. The last two are chosen by a fitting step
(label_choices.py): a rule applies only where it was right at least half the time on photos, and its
confidence is how often it was right, so its band means what other labels' bands mean.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

from .csv_data import csv_rows
from .scene import SceneStatistics

CONTEXTS_PATH = Path(__file__).resolve().parent / "label_contexts.csv"
# The evidence labels must be reported themselves.
_REPORTED = 50.0
SCENE_MEASURES = tuple(field.name for field in fields(SceneStatistics))


@dataclass(frozen=True)
class ContextRule:
    label: str
    when: tuple[str, ...]  # every one reported
    scene: tuple[str, float] | None  # (a SceneStatistics measure, its least value), or no condition
    confidence: float  # at most this, and never above the weakest evidence
    kept: bool = True  # chosen by the fitting step

    def scene_agrees(self, scene: SceneStatistics) -> bool:
        return self.scene is None or getattr(scene, self.scene[0]) >= self.scene[1]


@lru_cache(maxsize=1)
def candidate_rules() -> tuple[ContextRule, ...]:
    """Every rule of label_contexts.csv, kept by the fitting step or not."""
    return tuple(
        ContextRule(
            row["label"],
            tuple(row["when"].split("|")),
            _scene(row["scene"]),
            float(row["confidence"]),
            row["kept"] == "yes",
        )
        for row in csv_rows(CONTEXTS_PATH)
    )


def context_rules() -> tuple[ContextRule, ...]:
    """The rules that apply."""
    return tuple(rule for rule in candidate_rules() if rule.kept)


def _scene(condition: str) -> tuple[str, float] | None:
    """ "green 0.05" -> ("green", 0.05); empty -> None."""
    if not condition.strip():
        return None
    measure, least = condition.split()
    if measure not in SCENE_MEASURES:
        raise ValueError(f"{CONTEXTS_PATH.name}: unknown scene measure {measure!r}")
    return measure, float(least)


def context_evidence(confidences: dict[str, float], scene: SceneStatistics, rules=None) -> dict[str, float]:
    """Label name -> confidence for the rules whose evidence `confidences` (with parents) reports."""
    evidence: dict[str, float] = {}
    for rule in context_rules() if rules is None else rules:
        support = [confidences.get(name, 0.0) for name in rule.when]
        if min(support) >= _REPORTED and rule.scene_agrees(scene):
            confidence = min(rule.confidence, *support)
            evidence[rule.label] = max(evidence.get(rule.label, 0.0), confidence)
    return evidence
