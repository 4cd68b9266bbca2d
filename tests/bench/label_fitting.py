"""Choose the local Rekognition's label rules on photos with recorded Rekognition answers, and
measure that choice by k-fold cross-validation (the figure to trust: every value is chosen on the
other folds' photos, none on the photos it is scored on).

    .venv/bin/python tests/bench/label_fitting.py [--data DIR] [--write]

What is chosen (local/rekognition/label_choices.py), each by the same test: a value that makes the
service say more is taken only where what it adds was right at least half the time (MIN_PRECISION)
over at least MIN_EMISSIONS labels; a label the service says wrongly more often than rightly, over
at least that many, is withheld.
1. Per label, the classifier confidence reported at 50: the lowest of CUT_CANDIDATES that passes,
   else 50.
2. Per scene label (Outdoors from sky blue, Plant and Tree from green), the least share of the color:
   the lowest of SCENE_CANDIDATES whose added labels pass, else none.
3. The contextual rules, in rounds (a rule may need a label another gives): a rule applies if the
   labels it adds, with their parents, pass; its confidence is the share of them that was right.
4. The labels withheld: right less often than WITHHOLD_BELOW.
5. Steps 1-4 cross-validated within the photos given: a rule (by the labels it added), a cut or a
   scene cut (by its label) whose precision on photos it was not chosen on falls below
   MIN_PRECISION over at least MIN_EMISSIONS labels is dropped (fit_checked).
The reported figure cross-validates all five steps (so step 5 is nested). --write stores the choice
made on all the photos in the service's data files.
"""

from __future__ import annotations

import argparse
import collections
import csv
import os
import random
import sys
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT))

from local.rekognition.context import ContextRule, candidate_rules, context_evidence  # noqa: E402
from local.rekognition.label_choices import CUTS_PATH, SCENE_CUTS_PATH, WITHHELD_PATH, LabelChoices  # noqa: E402
from local.rekognition.labels import label_confidences  # noqa: E402
from local.rekognition.taxonomy import default_taxonomy  # noqa: E402

FOLDS, SEED = 5, 24
REPORTED = 50.0
MIN_PRECISION, MIN_EMISSIONS = 0.5, 8
# A label is withheld when right less often than this over at least MIN_EMISSIONS reports. Lower
# than MIN_PRECISION: withholding a label right a share p of the time raises F1 only when p is under
# half the F1 (about 0.2 here), and a label above that still adds more right answers than wrong ones
# in proportion to the service's own.
WITHHOLD_BELOW = 0.3
CUT_CANDIDATES = (10.0, 20.0, 30.0, 40.0)
# Shares of the label's color in scene.py: sky blue in the top third for Outdoors, green for the others.
SCENE_CANDIDATES = {
    "Outdoors": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6),
    "Plant": (0.02, 0.05, 0.1, 0.15, 0.2, 0.3),
    "Tree": (0.05, 0.1, 0.15, 0.2, 0.3, 0.4),
}
# Rule confidences stay in the band of what they say.
RULE_CONFIDENCE_RANGE = (50.0, 95.0)


@dataclass
class Tally:
    """Labels said and how many of them were right."""

    said: int = 0
    right: int = 0

    def add(self, said: set[str], wanted: set[str]) -> None:
        self.said += len(said)
        self.right += len(said & wanted)

    @property
    def precision(self) -> float:
        return self.right / self.said if self.said else 0.0

    @property
    def passes(self) -> bool:
        return self.said >= MIN_EMISSIONS and self.precision >= MIN_PRECISION

    def fails(self, below: float = MIN_PRECISION) -> bool:
        return self.said >= MIN_EMISSIONS and self.precision < below


def wanted_labels(reference: dict) -> dict[str, set[str]]:
    """Image name -> the labels Rekognition gave at 50 or more (lower case, as the score compares)."""
    return {
        name: {x["name"].lower() for x in labels if x["confidence"] >= REPORTED} for name, labels in reference.items()
    }


def reported(confidences: dict[str, float]) -> set[str]:
    return {name.lower() for name, confidence in confidences.items() if confidence >= REPORTED}


def replay(photo, choices: LabelChoices) -> dict[str, float]:
    return label_confidences(
        photo.classified, photo.faces, photo.people, photo.scene, default_taxonomy(), photo.width, photo.height, choices
    )


def fit(photos: dict, wanted: dict[str, set[str]]) -> LabelChoices:
    """The choice made on `photos` (name -> label_evidence.PhotoEvidence)."""
    taxonomy = default_taxonomy()
    raw = {name: photo.classified for name, photo in photos.items()}
    cuts = {}
    for label in sorted({label for confidences in raw.values() for label in confidences}):
        for cut in CUT_CANDIDATES:
            tally = Tally()
            for name, confidences in raw.items():
                tally.add({label.lower()} if confidences.get(label, 0.0) >= cut else set(), wanted[name])
            if tally.passes:
                cuts[label] = cut
                break
    choices = LabelChoices(cuts=cuts, scene_cuts={}, rules=(), withheld=frozenset())
    for label, candidates in SCENE_CANDIDATES.items():
        before = {name: reported(replay(photo, choices)) for name, photo in photos.items()}
        for least in candidates:
            trial = replace(choices, scene_cuts={**choices.scene_cuts, label: least})
            tally = Tally()
            for name, photo in photos.items():
                tally.add(reported(replay(photo, trial)) - before[name], wanted[name])
            if tally.passes:
                choices = trial
                break
    choices = _fit_rules(photos, wanted, choices)
    said = collections.defaultdict(Tally)
    for name, photo in photos.items():
        for label in reported(replay(photo, choices)):
            said[label].add({label}, wanted[name])
    names = {label.lower(): label for label in taxonomy.labels}
    withheld = frozenset(names.get(label, label) for label, tally in said.items() if tally.fails(WITHHOLD_BELOW))
    return replace(choices, withheld=withheld)


def _fit_rules(photos: dict, wanted: dict[str, set[str]], choices: LabelChoices) -> LabelChoices:
    taxonomy = default_taxonomy()
    undecided = [replace(rule, kept=False) for rule in candidate_rules()]
    while True:
        state = {name: replay(photo, choices) for name, photo in photos.items()}
        taken = []
        for rule in undecided:
            tally = Tally()
            for name, photo in photos.items():
                tally.add(_added_by(rule, state[name], photo.scene, taxonomy), wanted[name])
            if tally.passes:
                low, high = RULE_CONFIDENCE_RANGE
                confidence = min(high, max(low, round(100 * tally.precision)))
                taken.append(replace(rule, confidence=float(confidence), kept=True))
        if not taken:
            return choices
        chosen = {(rule.label, rule.when, rule.scene) for rule in taken}
        undecided = [rule for rule in undecided if (rule.label, rule.when, rule.scene) not in chosen]
        choices = choices.with_rules(choices.rules + tuple(taken))


def _added_by(rule: ContextRule, confidences: dict[str, float], scene, taxonomy) -> set[str]:
    """The labels (lower case) `rule` would add to those reported: its label and that label's parents."""
    if not context_evidence(confidences, scene, [replace(rule, confidence=100.0)]):
        return set()
    implied = (rule.label, *taxonomy.info(rule.label).parents)
    return {name.lower() for name in implied if confidences.get(name, 0.0) < REPORTED}


def folds(names: list[str]) -> list[list[str]]:
    shuffled = sorted(names)
    random.Random(SEED).shuffle(shuffled)
    return [shuffled[i::FOLDS] for i in range(FOLDS)]


def fit_checked(photos: dict, wanted: dict[str, set[str]]) -> LabelChoices:
    """fit() less each choice whose precision on held-out photos fails: cross-validated within
    `photos`, so that the outer cross-validation measures this whole procedure."""
    _, tallies = cross_validate(photos, wanted, fit)
    return without(fit(photos, wanted), {key for key, tally in tallies.items() if tally.fails()})


def without(choices: LabelChoices, dropped: set[str]) -> LabelChoices:
    """`choices` less the rules, cuts and scene cuts `dropped` names (choice_key)."""
    return LabelChoices(
        cuts={label: cut for label, cut in choices.cuts.items() if choice_key("cut", label) not in dropped},
        scene_cuts={
            label: least for label, least in choices.scene_cuts.items() if choice_key("scene", label) not in dropped
        },
        rules=tuple(rule for rule in choices.rules if choice_key("rule", rule) not in dropped),
        withheld=choices.withheld,
    )


def cross_validate(photos: dict, wanted: dict[str, set[str]], fitter=fit_checked) -> tuple[dict, dict]:
    """Each photo's labels as `fitter` chose them on the other folds, and the held-out tally of each
    choice (keyed as choice_key names them): for a rule, the labels it added with their parents;
    for a cut or a scene cut, its label wherever reported."""
    answers, tallies = {}, collections.defaultdict(Tally)
    taxonomy = default_taxonomy()
    for held_out in folds(list(photos)):
        training = {name: photo for name, photo in photos.items() if name not in held_out}
        choices = fitter(training, wanted)
        for name in held_out:
            confidences = replay(photos[name], choices)
            answers[name] = {label: c for label, c in confidences.items() if c >= REPORTED}
            said = reported(confidences)
            for rule in choices.rules:
                others = choices.with_rules(tuple(r for r in choices.rules if r is not rule))
                implied = {n.lower() for n in (rule.label, *taxonomy.info(rule.label).parents)}
                added = said - reported(replay(photos[name], others))
                tallies[choice_key("rule", rule)].add(added & implied, wanted[name])
            for kind, labels in (("cut", choices.cuts), ("scene", choices.scene_cuts)):
                for label in labels:
                    tallies[choice_key(kind, label)].add(said & {label.lower()}, wanted[name])
    return answers, tallies


def choice_key(kind: str, choice) -> str:
    """ "rule Road <- Car|Outdoors", "cut Tower", "scene Plant"."""
    if kind != "rule":
        return f"{kind} {choice}"
    scene = f" {choice.scene[0]} {choice.scene[1]:g}" if choice.scene else ""
    return f"rule {choice.label} <- {'|'.join(choice.when)}{scene}"


def write(choices: LabelChoices) -> None:
    """Store `choices` in the service's data files."""
    _rewrite(CUTS_PATH, ["label", "cut"], [[label, f"{cut:g}"] for label, cut in sorted(choices.cuts.items())])
    _rewrite(
        SCENE_CUTS_PATH, ["label", "least"], [[label, f"{least:g}"] for label, least in choices.scene_cuts.items()]
    )
    _rewrite(WITHHELD_PATH, ["label"], [[label] for label in sorted(choices.withheld)])
    from local.rekognition.context import CONTEXTS_PATH

    kept = {(r.label, r.when, r.scene): r for r in choices.rules}
    rows = []
    for rule in candidate_rules():
        chosen = kept.get((rule.label, rule.when, rule.scene))
        scene = f"{rule.scene[0]} {rule.scene[1]:g}" if rule.scene else ""
        confidence = chosen.confidence if chosen else rule.confidence
        rows.append([rule.label, "|".join(rule.when), scene, f"{confidence:g}", "yes" if chosen else "no"])
    _rewrite(CONTEXTS_PATH, ["label", "when", "scene", "confidence", "kept"], rows)


def _rewrite(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """The file's comment lines as they are, then the header and `rows`."""
    comments = [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True) if line.startswith("#")]
    with path.open("w", encoding="utf-8", newline="") as f:
        f.writelines(comments)
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def cross_validated_report(data: Path, names: list[str], reference: dict) -> tuple[dict, list[str]]:
    """The cross-validated score of the whole procedure (labels_bench.score's figures), and the
    lines that show how each choice of steps 1-4 on all the photos did on photos it was not chosen
    on: the check of step 5 that decided what is shipped."""
    import label_evidence
    from labels_bench import score

    photos = label_evidence.collect(data / "images", names)
    wanted = wanted_labels(reference)
    answers, _ = cross_validate(photos, wanted)
    _, tallies = cross_validate(photos, wanted, fit)
    lines = [
        "held-out precision of each choice (a rule by the labels it added, a cut by its label), steps 1-4"
        f" cross-validated ({FOLDS} folds, seed {SEED}); those that fail are not shipped"
    ]
    for key, tally in sorted(tallies.items(), key=lambda item: -item[1].said):
        verdict = "  fails: dropped" if tally.fails() else ""
        lines.append(f"  {key:45s} {tally.right:4d}/{tally.said:<4d} {tally.precision:.2f}{verdict}")
    return score(reference, answers, REPORTED), lines


def per_label_precision(results: dict[str, dict]) -> str:
    """Per label said at least MIN_EMISSIONS times in any of `results` (name -> score), the share
    that was right in each."""
    said = set()
    for result in results.values():
        said |= {label for label, count in result["reported"].items() if count >= MIN_EMISSIONS}
    header = "".join(f" {name:>22s}" for name in results)
    lines = [
        f"labels said at least {MIN_EMISSIONS} times, precision (cross-validated: {FOLDS} folds, seed {SEED})",
        f"  {'label':22s}{header}",
    ]
    first = next(iter(results.values()))
    for label in sorted(said, key=lambda label: -first["reported"][label]):
        cells = ""
        for result in results.values():
            count, right = result["reported"][label], result["right"][label]
            cells += f" {f'{right}/{count} {right / count:.2f}' if count else '-':>22s}"
        lines.append(f"  {label:22s}{cells}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import json

    from labels_bench import DEFAULT_DATA

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("LABELS_DATA") or str(DEFAULT_DATA))
    parser.add_argument("--write", action="store_true", help="store the choice made on all the photos")
    args = parser.parse_args(argv)
    data = Path(args.data)
    reference = json.loads((data / "aws-detectlabels.json").read_text())
    names = sorted(reference)
    result, lines = cross_validated_report(data, names, reference)
    print("\n".join(lines))
    print(per_label_precision({"cross-validated": result}))
    print(
        f"cross-validated labels: precision {result['precision']:.3f} recall {result['recall']:.3f} "
        f"f1 {result['f1']:.3f} images {len(names)}"
    )
    if args.write:
        import label_evidence

        photos = label_evidence.collect(data / "images", names)
        write(fit_checked(photos, wanted_labels(reference)))
        print(f"wrote the choice made on all {len(names)} photos")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
