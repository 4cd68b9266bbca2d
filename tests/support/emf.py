"""Validation of CloudWatch embedded metric format documents against the committed schema.

The schema checks the shape; `problems` adds the one rule a schema cannot state: every metric and
dimension a directive names is present at the root, with a value of the right type.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA = json.loads((Path(__file__).with_name("emf.schema.json")).read_text())
_VALIDATOR = Draft202012Validator(SCHEMA)
_METRIC_VALUE = Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/metricValue"})
_DIMENSION_VALUE = Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/dimensionValue"})


def problems(document: dict[str, Any]) -> list[str]:
    errors = _VALIDATOR.iter_errors(document)
    found = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]
    if found:
        return found
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for metric in directive["Metrics"]:
            if metric["Name"] not in document:
                found.append(f"metric {metric['Name']} has no value at the root")
            elif not _METRIC_VALUE.is_valid(document[metric["Name"]]):
                found.append(f"metric {metric['Name']}: {document[metric['Name']]!r} is not a number or numbers")
        for dimension in {key for keys in directive["Dimensions"] for key in keys}:
            if not _DIMENSION_VALUE.is_valid(document.get(dimension)):
                found.append(f"dimension {dimension}: {document.get(dimension)!r} is not a non-empty string")
    return found
