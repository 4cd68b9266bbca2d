"""The zip Lambda runs: small, without what the runtime provides, and complete enough to import."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from local import paths
from local.deploy import packaging

# What Lambda's python3.12 runtime itself provides on sys.path, after the function's own code.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "dateutil", "six", "jmespath")


def test_each_function_zip_is_under_the_limit(dev_package, capsys):
    sizes = {name: path.stat().st_size for name, path in dev_package.artifacts().items()}
    assert set(sizes) == {"upload", "uploads", "recognize", "images", "delete", "deliver", "webhooks"}
    assert all(size < packaging.MAX_ZIP_BYTES for size in sizes.values()), sizes
    assert packaging.main([str(dev_package.directory)]) == 0
    print(capsys.readouterr().out)  # shown with -s: the sizes, for the record


def test_the_zip_size_the_docs_state_is_the_packaged_one(dev_package):
    # As `make package` prints it: MB of 2**20 bytes, here to the tenth the docs give.
    [size] = {round(path.stat().st_size / 2**20, 1) for path in dev_package.artifacts().values()}
    stated = {
        doc: re.findall(r"about (\d+\.\d) MB", text)
        for doc in ("README.md", "docs/deploy.md")
        for text in [(paths.PROJECT_ROOT / doc).read_text()]
        # Only the paragraphs about the zip; other sizes (bodies, images) are not the package's.
        for text in ["\n".join(p for p in text.split("\n\n") if "zip" in p)]
    }
    assert stated == {"README.md": [f"{size}"], "docs/deploy.md": [f"{size}"]}


def test_the_size_report_fails_on_an_oversized_zip(dev_package, tmp_path):
    copy = tmp_path / "package"
    shutil.copytree(dev_package.directory, copy, symlinks=True)
    [artifact] = {path.name for path in dev_package.artifacts().values()}
    (copy / artifact).write_bytes(b"\0" * packaging.MAX_ZIP_BYTES)
    assert packaging.main([str(copy)]) == 1


def test_the_zip_holds_the_code_and_its_dependencies_only(dev_package):
    [artifact] = set(dev_package.artifacts().values())
    top_level = {name.split("/", 1)[0] for name in zipfile.ZipFile(artifact).namelist()}
    assert {"handlers", "lib", "aws_lambda_powertools", "requests"} <= top_level
    assert not top_level & {"boto3", "botocore", "node_modules", "local", "tests", ".venv"}, top_level
    assert not any(name.endswith(".pyc") for name in zipfile.ZipFile(artifact).namelist())


def test_every_handler_imports_from_the_zip_with_only_the_runtime_beside_it(dev_package, tmp_path):
    [artifact] = set(dev_package.artifacts().values())
    task, runtime = tmp_path / "task", tmp_path / "runtime"
    zipfile.ZipFile(artifact).extractall(task)
    runtime.mkdir()
    for name in RUNTIME_PACKAGES:
        origin = Path(importlib.util.find_spec(name).origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (runtime / source.name).symlink_to(source)
    declared = {resource["Properties"]["Handler"] for _, resource in dev_package.functions().values()}
    handlers = sorted(handler.rsplit(".", 1)[0].replace("/", ".") for handler in declared)
    script = (
        "import importlib, sys\n"
        f"sys.path[:0] = [{str(task)!r}, {str(runtime)!r}]\n"
        f"for name in {handlers!r}:\n"
        "    assert callable(importlib.import_module(name).handler), name\n"
        "    assert importlib.import_module(name).__file__.startswith(sys.path[0]), name\n"
    )
    # -I -S: no site-packages, so nothing is found in this project's virtualenv by accident.
    result = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
