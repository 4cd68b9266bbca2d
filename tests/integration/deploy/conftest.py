"""The deploy path, proven offline: the real `sls package`, once per stage and session.

Packaging runs osls from node_modules (`make test` installs it) and pip from its cache; about 4 s
per stage when warm.
"""

from __future__ import annotations

import pytest

from local.deploy import packaging
from local.deploy.packaging import Package


def _package(tmp_path_factory: pytest.TempPathFactory, stage: str, **params: str) -> Package:
    directory = tmp_path_factory.mktemp(f"sls-{stage}-{'-'.join(params.values()) or 'default'}")
    return packaging.package(stage, directory, params)


@pytest.fixture(scope="session")
def dev_package(tmp_path_factory) -> Package:
    return _package(tmp_path_factory, "dev")


@pytest.fixture(scope="session")
def prod_package(tmp_path_factory) -> Package:
    """Stage prod with the Cognito authorizer on: prod's settings and every optional resource."""
    return _package(tmp_path_factory, "prod", auth="cognito")
