"""The values of the label rules that a fitting step chooses rather than a hand: which contextual
rules apply and how confident each is (label_contexts.csv), the classifier confidence at which each
label is reported (label_cuts.csv), the share of a scene color at which it is evidence of a label
(scene_cuts.csv), and the labels never reported because they are wrong more often than right
(withheld_labels.csv).

tests/bench/label_fitting.py chooses them against recorded Rekognition answers, and measures the
choice by cross-validation: each value is chosen on four fifths of the photos and scored on the
fifth it did not see. The files hold what it chose on all the photos. docs/rekognition.md has the
method and the figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from .context import ContextRule, context_rules
from .csv_data import csv_rows

HERE = Path(__file__).resolve().parent
CUTS_PATH = HERE / "label_cuts.csv"
SCENE_CUTS_PATH = HERE / "scene_cuts.csv"
WITHHELD_PATH = HERE / "withheld_labels.csv"


@dataclass(frozen=True)
class LabelChoices:
    cuts: Mapping[str, float]  # label -> classifier confidence (0-100) reported at 50
    scene_cuts: Mapping[str, float]  # label -> share of its scene color (0-1) reported at 50
    rules: tuple[ContextRule, ...]  # the contextual rules that apply
    withheld: frozenset[str]  # labels never reported

    def with_rules(self, rules: tuple[ContextRule, ...]) -> LabelChoices:
        return replace(self, rules=rules)


@lru_cache(maxsize=1)
def shipped_choices() -> LabelChoices:
    return LabelChoices(
        cuts={row["label"]: float(row["cut"]) for row in csv_rows(CUTS_PATH)},
        scene_cuts={row["label"]: float(row["least"]) for row in csv_rows(SCENE_CUTS_PATH)},
        rules=context_rules(),
        withheld=frozenset(row["label"] for row in csv_rows(WITHHELD_PATH)),
    )
