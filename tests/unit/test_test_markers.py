"""The tier markers come from the folder (tests/conftest.py), so no test file sets them by hand."""

import re

from local.paths import PROJECT_ROOT

FOLDER_MARKS = re.compile(r"pytest\.mark\.(unit|integration|e2e|browser)\b")


def test_no_test_file_sets_its_tier_marker_by_hand():
    by_hand = [
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "tests").rglob("*.py")
        if path.name != "conftest.py" and path.name != "test_test_markers.py" and FOLDER_MARKS.search(path.read_text())
    ]
    assert by_hand == [], "tests/conftest.py sets unit, integration, e2e and browser from the folder"
