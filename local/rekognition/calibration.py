"""Per-label calibration of the classifier's label confidences (cuts in label_cuts.csv).

taxonomy.py scores every label on one scale, but how often a label is right at a given score
differs: a pooled broad label (Outdoors, Plant) is right far more often at 20 than a single breed.
Each listed label is stretched so that its cut becomes 50, keeping 0 and 90 to 100 where they are
and the order of confidences within the label, so reported confidences mean about the same for every
label. The cuts are chosen by a fitting step (label_choices.py).
"""

from __future__ import annotations

from collections.abc import Mapping

REPORTED = 50.0
# From here up a confidence means a clear recognition for any label and stays as it is, so that a
# parent raised by its cut never outranks the confident child it was propagated from (Cat over Pet).
CLEAR = 90.0


def label_cuts() -> Mapping[str, float]:
    from .label_choices import shipped_choices

    return shipped_choices().cuts


def calibrated(name: str, confidence: float, cuts: Mapping[str, float]) -> float:
    """`confidence` (0-100) on a scale where the label's cut reads 50 and CLEAR and above stay."""
    cut = cuts.get(name, REPORTED)
    if confidence >= CLEAR or cut >= CLEAR:
        return confidence
    if confidence >= cut:
        return REPORTED + (confidence - cut) * (CLEAR - REPORTED) / (CLEAR - cut)
    return confidence * REPORTED / cut


def calibrate(confidences: dict[str, float], cuts: Mapping[str, float] | None = None) -> dict[str, float]:
    cuts = label_cuts() if cuts is None else cuts
    return {name: calibrated(name, confidence, cuts) for name, confidence in confidences.items()}
