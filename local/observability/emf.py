"""CloudWatch embedded metric format (EMF) documents found in the functions' logs, and their totals.

What CloudWatch would extract from the log stream: each document names its namespace, dimension
sets and metrics under `_aws.CloudWatchMetrics`, and carries the values at its root.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


def documents(entries: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for entry in entries:
        metadata = entry.get("_aws")
        if isinstance(metadata, dict) and isinstance(metadata.get("CloudWatchMetrics"), list):
            yield entry


@dataclass
class Series:
    """Every value one metric received under one set of dimension values."""

    unit: str
    values: list[float] = field(default_factory=list)

    def describe(self) -> str:
        if self.unit == "Count":
            return f"{sum(self.values):g}"
        ordered = sorted(self.values)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        unit = " ms" if self.unit == "Milliseconds" else f" {self.unit}"
        median = statistics.median(ordered)
        return f"n={len(ordered)}  p50 {median:.0f}{unit}  p95 {p95:.0f}{unit}  max {ordered[-1]:.0f}{unit}"


# (namespace, metric name, ((dimension, value), ...)) -> its series
Key = tuple[str, str, tuple[tuple[str, str], ...]]


def totals(docs: Iterable[dict[str, Any]]) -> dict[Key, Series]:
    found: dict[Key, Series] = {}
    for doc in docs:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            dimension_sets = directive.get("Dimensions") or [[]]
            for metric in directive.get("Metrics", []):
                raw = doc.get(metric["Name"])
                values = raw if isinstance(raw, list) else [raw]
                for dimensions in dimension_sets:
                    key = (
                        directive.get("Namespace", ""),
                        metric["Name"],
                        tuple((name, str(doc.get(name, ""))) for name in dimensions),
                    )
                    series = found.setdefault(key, Series(metric.get("Unit", "None")))
                    series.values.extend(float(v) for v in values if isinstance(v, int | float))
    return found
