"""What the local stack builds from serverless.yml is what CloudFormation will build on AWS."""

from __future__ import annotations

import copy

from local import paths, topology
from local.deploy.packaging import Package
from tests.integration.deploy import parity


def test_local_topology_equals_the_dev_template(dev_package):
    local = topology.load("dev", env={})
    assert parity.differences(parity.from_topology(local), parity.from_template(dev_package)) == []


def test_local_topology_with_auth_equals_the_prod_template(prod_package):
    local = topology.load("prod", env={}, params={"auth": "cognito"})
    shape = parity.from_template(prod_package)
    assert shape["user_pools"] and shape["authorizers"], "the prod package is built with auth on"
    assert parity.differences(parity.from_topology(local), shape) == []


def test_a_resource_only_in_the_template_breaks_parity(dev_package):
    template = copy.deepcopy(dev_package.template)
    template["Resources"]["ExtraQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {"SqsManagedSseEnabled": True}}
    changed = Package(dev_package.directory, dev_package.service, dev_package.stage, template)
    local = parity.from_topology(topology.load("dev", env={}))
    assert parity.differences(local, parity.from_template(changed)) == [
        "queues ExtraQueue: local None, template (30, None, None)"
    ]


def test_a_resource_only_in_serverless_yml_breaks_parity(dev_package, tmp_path):
    # The same file with one more topic, read by the local topology but never packaged.
    extended = tmp_path / "serverless.yml"
    extended.write_text(paths.SERVERLESS_YML.read_text() + "\n  - Resources: {ExtraTopic: {Type: AWS::SNS::Topic}}\n")
    local = parity.from_topology(topology.load("dev", path=extended, env={}))
    assert parity.differences(local, parity.from_template(dev_package)) == [
        "topics: only local ['ExtraTopic'], only in the template []"
    ]


def test_a_changed_event_breaks_parity(dev_package):
    template = copy.deepcopy(dev_package.template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            resource["Properties"]["BatchSize"] = 1
    local = parity.from_topology(topology.load("dev", env={}))
    changed = Package(dev_package.directory, dev_package.service, dev_package.stage, template)
    assert parity.differences(local, parity.from_template(changed))
