"""The service's small data tables: CSV files whose comment lines start with '#'."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path


def csv_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        yield from csv.DictReader([line for line in f if not line.startswith("#")])
