import pytest

from local import paths, topology
from local.topology import PhysicalIds, TopologyError, resolve


@pytest.fixture(scope="module")
def local():
    return topology.load("local", env={})


def test_every_function_declares_a_handler_module_that_exists(local):
    for function in local.functions:
        module_path, _, attribute = function.handler.rpartition(".")
        assert (paths.PROJECT_ROOT / f"{module_path}.py").is_file(), function.handler
        assert attribute == "handler"


def test_routes_and_queue_triggers_come_from_serverless_yml(local):
    assert {(r.method, r.path, r.function) for r in local.routes} == {
        ("GET", "/", "upload"),
        ("POST", "/images", "upload"),
        ("GET", "/images", "images"),
        ("GET", "/images/{id}", "images"),
        ("GET", "/images/{id}/content", "images"),
        ("POST", "/uploads", "uploads"),
        ("POST", "/webhooks", "webhooks"),
        ("GET", "/webhooks", "webhooks"),
        ("GET", "/webhooks/{id}", "webhooks"),
        ("PATCH", "/webhooks/{id}", "webhooks"),
        ("DELETE", "/webhooks/{id}", "webhooks"),
        ("POST", "/webhooks/{id}/rotate-secret", "webhooks"),
        ("POST", "/webhooks/{id}/test", "webhooks"),
        ("GET", "/webhooks/{id}/deliveries", "webhooks"),
        ("POST", "/webhooks/{id}/replay", "webhooks"),
        ("DELETE", "/images/{id}", "delete"),
    }
    assert {(t.function, t.queue) for t in local.sqs_triggers} == {
        ("recognize", "UploadsQueue"),
        ("deliver", "IntegrationQueue"),
        ("deliver", "EndpointDeliveryQueue"),
    }
    assert all(t.report_batch_item_failures for t in local.sqs_triggers)


def test_every_source_queue_has_a_dead_letter_queue_and_a_long_enough_visibility(local):
    timeouts = {f.name: f.timeout for f in local.functions}
    for trigger in local.sqs_triggers:
        queue = next(q for q in local.queues if q.logical_id == trigger.queue)
        assert queue.dead_letter_queue and queue.max_receive_count
        assert queue.visibility_timeout >= 6 * timeouts[trigger.function]


def test_stage_parameters_resolve_per_stage():
    prod = topology.load("prod", env={})
    assert prod.function("deliver").environment["WEBHOOK_SECRET_PARAMETER"] == "/image-recognition/prod/webhook-secret"
    assert prod.stack_name == "image-recognition-prod"


def test_a_missing_variable_is_reported_by_name(tmp_path):
    path = tmp_path / "serverless.yml"
    path.write_text(
        "service: s\nprovider: {name: aws}\nfunctions:\n  f: {handler: h.handler, environment: {X: '${param:nope}'}}\n"
    )
    with pytest.raises(TopologyError, match="param:nope"):
        topology.load("local", path=path, env={})


def test_env_variable_with_default(tmp_path):
    path = tmp_path / "serverless.yml"
    path.write_text(
        """
service: s
provider: {name: aws}
functions:
  f: {handler: h.handler, environment: {X: "${env:NOPE, 'fallback'}"}}
"""
    )
    assert topology.load("local", path=path, env={}).function("f").environment["X"] == "fallback"


def test_intrinsics_resolve_against_physical_ids():
    ids = PhysicalIds(
        refs={"Queue": "http://q", "Bucket": "b"},
        attributes={("Queue", "Arn"): "arn:q", ("Bucket", "Arn"): "arn:aws:s3:::b"},
        pseudo={"AWS::Region": "us-east-1", "AWS::AccountId": "1", "AWS::StackName": "s", "AWS::Partition": "aws"},
    )
    assert resolve({"Ref": "Queue"}, ids) == "http://q"
    assert resolve({"Fn::GetAtt": ["Queue", "Arn"]}, ids) == "arn:q"
    assert resolve({"Fn::Sub": "${Bucket.Arn}/images/*"}, ids) == "arn:aws:s3:::b/images/*"
    assert resolve({"Fn::Sub": "${AWS::StackName}-images-${AWS::AccountId}"}, ids) == "s-images-1"
    assert resolve({"Fn::Join": ["-", [{"Ref": "Bucket"}, "x"]]}, ids) == "b-x"
    with pytest.raises(TopologyError):
        resolve({"Ref": "Missing"}, ids)


def test_null_fallback_leaves_a_value_out(tmp_path):
    path = tmp_path / "serverless.yml"
    path.write_text(
        """
service: s
provider: {name: aws}
functions:
  f:
    handler: h.handler
    events:
      - httpApi: {method: GET, path: /, authorizer: "${self:custom.nothing, null}"}
"""
    )
    [route] = topology.load("local", path=path, env={}).routes
    assert route.authorizer is None


def test_auth_parameter_turns_on_the_authorizer_and_its_user_pool():
    off = topology.load("local", env={})
    assert not off.authorizers and not off.user_pools and all(r.authorizer is None for r in off.routes)

    on = topology.load("local", env={}, params={"auth": "cognito"})
    [authorizer] = on.authorizers
    assert {r.authorizer for r in on.routes} == {authorizer.name}
    assert [p.logical_id for p in on.user_pools] == ["UserPool"]
    assert [(c.logical_id, c.user_pool) for c in on.user_pool_clients] == [("UserPoolClient", "UserPool")]
    assert authorizer.audience == ({"Ref": "UserPoolClient"},)


def test_list_form_resources_are_merged(tmp_path):
    path = tmp_path / "serverless.yml"
    path.write_text(
        """
service: s
provider: {name: aws}
resources:
  - Resources: {A: {Type: AWS::SNS::Topic}}
  - Resources: {B: {Type: AWS::SNS::Topic}}
  - {}
"""
    )
    assert [t.logical_id for t in topology.load("local", path=path, env={}).topics] == ["A", "B"]


def test_the_webhook_secrets_key_and_its_alias_are_reproduced(local):
    assert [k.logical_id for k in local.kms_keys] == ["WebhookSecretsKey"]
    [alias] = local.kms_aliases
    assert alias.key == "WebhookSecretsKey"
    assert "AWS::KMS::Key" not in local.unsupported and "AWS::KMS::Alias" not in local.unsupported
    # The functions name the key by its alias: known before the key exists, so it can be planned.
    assert local.function("webhooks").environment["WEBHOOK_KEY_ID"] == {"Ref": alias.logical_id}
