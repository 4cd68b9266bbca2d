"""Every shell example of README.md and docs/*.md that runs against the local stack, run as written,
in reading order, on a fresh stack in a fresh copy of the project; the ones set aside (AWS,
templates, setup) are listed as skipped with their reason. A copy with a fixture renamed shows the
test notices an example that no longer runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support import background_stack, doc_examples

EXAMPLES = doc_examples.examples()
RUNNABLE = [example for example in EXAMPLES if example.tag is None]
SET_ASIDE = [example for example in EXAMPLES if example.tag is not None]
PRESIGNED_EXAMPLE = "README.md"  # the curl tour, whose presigned upload prints S3's answer


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory):
    """A copy of the tracked files with `make local` running in it, as a new user would have it."""
    root = doc_examples.fresh_copy(tmp_path_factory.mktemp("fresh-clone"))
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOCAL_")}
    # What `make local` runs; moto's canned labels are enough for examples that only show answers.
    env |= {"REKOGNITION": "moto", "LOCAL_RELOAD": "0"}
    (root / ".local").mkdir()
    stack = background_stack.start(root, env, root / ".local" / "endpoints.json", root / ".local" / "local.out")
    yield root
    background_stack.stop(stack)


def problems(examples: list[doc_examples.Example], cwd: Path) -> tuple[list[str], dict[str, str]]:
    """Runs the examples in order; what went wrong with each, and what each printed."""
    found, printed = [], {}
    for example in examples:
        done = doc_examples.run(example, cwd)
        printed[example.where] = done.stdout
        if done.returncode != 0:
            found.append(f"{example.where} exited {done.returncode}:\n{done.stdout[-800:]}{done.stderr[-800:]}")
        elif not done.stdout.strip():
            found.append(f"{example.where} printed nothing: an example should show its result")
    return found, printed


def test_every_example_against_the_local_stack_runs_as_written(fresh_clone):
    assert RUNNABLE, "no example to run: the fences' tags are misread"
    found, printed = problems(RUNNABLE, fresh_clone)
    assert found == [], "\n\n".join(found)
    [tour] = [where for where in printed if where.startswith(PRESIGNED_EXAMPLE)]
    print("\n".join(f"$ {where}\n{out}" for where, out in printed.items()))
    assert "S3 answered 204 for image " in printed[tour], printed[tour]


def test_an_example_whose_file_is_gone_fails_the_check(fresh_clone, tmp_path):
    broken = doc_examples.fresh_copy(tmp_path / "broken")
    (broken / "tests/fixtures/rocket.jpg").rename(broken / "tests/fixtures/rocket-renamed.jpg")
    (broken / ".local").mkdir()
    shutil.copy(fresh_clone / ".local" / "endpoints.json", broken / ".local" / "endpoints.json")
    tour = [example for example in doc_examples.examples(broken) if example.tag is None][:1]

    found, _ = problems(tour, broken)

    assert len(found) == 1 and found[0].startswith(f"{tour[0].where} exited "), found


@pytest.mark.parametrize("example", SET_ASIDE, ids=[example.where for example in SET_ASIDE])
def test_examples_set_aside_are_listed_with_their_reason(example):
    assert example.tag in doc_examples.SET_ASIDE, f"{example.where}: unknown tag {example.tag!r}"
    pytest.skip(f"{example.tag}: {doc_examples.SET_ASIDE[example.tag]}")
