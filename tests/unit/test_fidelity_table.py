"""docs/fidelity.md's table holds up: each row the local stack claims to enforce names the test that
proves it, and each row about a function's permissions or a resource policy has a flow test, a case
of tests/e2e/test_policy_mutations.py that takes the permission or policy away and watches
`make local-e2e` fail naming it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from local.paths import PROJECT_ROOT
from tests.e2e.test_policy_mutations import CASES

TABLE = PROJECT_ROOT / "docs" / "fidelity.md"
# Sections whose enforced rows are about a function's permissions or a resource policy.
PERMISSION_SECTIONS = ("IAM", "Resource policies")
# Rows of those sections about how the layer decides, not about a permission serverless.yml grants:
# nothing in serverless.yml can be taken away to show them, so component tests prove them.
LAYER_MECHANICS = {
    "1b": "keys and signatures the layer refuses",
    "7": "the ARNs the layer computes",
    "8": "how batch actions and action names are matched",
    "9": "operations the layer cannot map",
    "10": "presigned URLs",
    "11": "presigned POSTs",
    "12": "policy evaluation order",
    "13": "conditions the layer does not evaluate",
    # Which names of a key (id, ARN, alias) the layer resolves to its ARN. The grant itself, only the
    # deliver role may decrypt, is proven by the template rule and by the webhooks e2e test.
    "16b": "how KMS key names resolve to the key's ARN",
}


@dataclass(frozen=True)
class Row:
    number: str
    section: str
    moto: str
    proven_by: str


def rows() -> list[Row]:
    found, section = [], ""
    for line in TABLE.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) < 5:
            continue
        if re.fullmatch(r"\*\*(.+)\*\*", cells[0]):
            section = cells[0].strip("*")
        elif re.fullmatch(r"\d+b?", cells[0]):
            found.append(Row(cells[0], section, cells[2], cells[-1]))
    return found


ENFORCED = [row for row in rows() if row.moto.startswith("enforced")]
PERMISSION_ROWS = [row for row in ENFORCED if row.section in PERMISSION_SECTIONS and row.number not in LAYER_MECHANICS]
TEST_FILES = {path.name for path in (PROJECT_ROOT / "tests").rglob("test_*.py")}


def test_the_table_is_read():
    assert len(rows()) > 40
    assert {"1", "5", "5b", "6", "15", "17", "18"} <= {row.number for row in PERMISSION_ROWS}


@pytest.mark.parametrize("row", ENFORCED, ids=lambda row: f"row-{row.number}")
def test_every_enforced_row_names_a_test_that_exists(row):
    named = set(re.findall(r"test_\w+\.py", row.proven_by))
    assert named, f"row {row.number} is enforced but names no test"
    assert named <= TEST_FILES, f"row {row.number} names tests that do not exist: {sorted(named - TEST_FILES)}"


@pytest.mark.parametrize("row", PERMISSION_ROWS, ids=lambda row: f"row-{row.number}")
def test_every_enforced_permission_or_policy_row_has_a_flow_test(row):
    cited = re.findall(r"\[([\w-]+)\]", row.proven_by.split("flow:", 1)[-1]) if "flow:" in row.proven_by else []
    assert cited, f"row {row.number} is about a permission or policy, and names no flow test (`flow: …[case]`)"
    cases = {case.name: case for case in CASES}
    for name in cited:
        assert name in cases, f"row {row.number} cites {name}, which test_policy_mutations.py does not have"
        assert row.number in cases[name].rows, f"{name} does not say it proves row {row.number}"


def test_every_flow_case_is_cited_by_the_rows_it_proves():
    by_number = {row.number: row for row in rows()}
    for case in CASES:
        for number in case.rows:
            assert f"[{case.name}]" in by_number[number].proven_by, f"row {number} does not cite {case.name}"
