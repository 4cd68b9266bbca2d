"""End-to-end tier: the whole system on the local stack, started once for the session."""

from __future__ import annotations

import pytest

from local.aws.localstack import docker_problem
from local.stack import LocalSystem
from tests.support.e2e_stack import Stack, ministack_problem, stack_options


@pytest.fixture(scope="session", params=["moto", pytest.param("localstack", marks=pytest.mark.docker), "ministack"])
def stack(request, tmp_path_factory):
    """The whole stack on each emulator: moto embedded, LocalStack where Docker runs, and ministack
    running the deployed template and zip."""
    if request.param == "localstack":
        if docker_problem() is not None:
            pytest.skip("EMULATOR=localstack needs a Docker daemon, and none answered")
    if request.param == "ministack" and ministack_problem():
        pytest.skip(ministack_problem())
    # The functions' log and the API's access log, as `make local` keeps them under .local/logs/.
    options = stack_options(emulator=request.param, log_dir=tmp_path_factory.mktemp("logs"))
    with LocalSystem(options) as stack:
        yield Stack(stack)
