"""Hot reload's reach: a changed file affects exactly the functions whose handler imports it, directly or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.functions.reload import affected_functions, project_imports

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    files = {
        "handlers/__init__.py": "",
        "handlers/upload.py": "import json\nfrom lib import checks\nfrom .shape import answer\n",
        "handlers/shape.py": "from lib.errors import ApiError\n",
        "handlers/images.py": "import lib.repository\n",
        "handlers/deliver.py": "def handler(event, context):\n    from lib.webhooks import sign\n",
        "lib/__init__.py": "",
        "lib/checks.py": "from . import limits\n",
        "lib/limits.py": "LIMIT = 1\n",
        "lib/errors.py": "class ApiError(Exception): ...\n",
        "lib/repository.py": "import boto3\nfrom .errors import ApiError\n",
        "lib/webhooks.py": "import hmac\n",
        "lib/unused.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


HANDLERS = {name: f"handlers/{name}.handler" for name in ("upload", "images", "deliver")}


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ("handlers/upload.py", ["upload"]),
        ("handlers/shape.py", ["upload"]),  # a relative import of the handler
        ("lib/limits.py", ["upload"]),  # two hops away, through `from . import limits`
        ("lib/errors.py", ["upload", "images"]),  # shared, through different paths
        ("lib/webhooks.py", ["deliver"]),  # imported inside the handler function
        ("lib/__init__.py", ["upload", "images", "deliver"]),  # every lib import runs it
        ("handlers/__init__.py", ["upload", "images", "deliver"]),
        ("lib/unused.py", []),
    ],
)
def test_a_changed_file_affects_the_functions_that_import_it(project, changed, expected):
    assert affected_functions(project, HANDLERS, [project / changed]) == expected


def test_a_file_that_does_not_parse_still_counts_as_imported(project):
    (project / "handlers/shape.py").write_text("from lib.errors import (\n")  # a save mid-edit

    assert affected_functions(project, HANDLERS, [project / "handlers/shape.py"]) == ["upload"]
    assert project / "lib/errors.py" not in project_imports(project, project / "handlers/upload.py")


def test_a_new_import_counts_at_the_next_change(project):
    assert affected_functions(project, HANDLERS, [project / "lib/unused.py"]) == []
    (project / "handlers/images.py").write_text("import lib.repository\nfrom lib import unused\n")

    assert affected_functions(project, HANDLERS, [project / "lib/unused.py"]) == ["images"]


def test_the_real_handlers_import_lib_and_not_each_other():
    handlers = {name: f"handlers/{name}.handler" for name in ("upload", "recognize", "deliver")}
    handlers["images"] = "handlers/results.handler"

    assert affected_functions(PROJECT_ROOT, handlers, [PROJECT_ROOT / "handlers/upload.py"]) == ["upload"]
    assert affected_functions(PROJECT_ROOT, handlers, [PROJECT_ROOT / "lib/__init__.py"]) == list(handlers)
    imported = project_imports(PROJECT_ROOT, PROJECT_ROOT / "handlers/upload.py")
    assert PROJECT_ROOT / "lib/config.py" in imported
    assert {path.relative_to(PROJECT_ROOT).parts[0] for path in imported} == {"handlers", "lib"}
