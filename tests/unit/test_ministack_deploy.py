"""The ministack backend's own logic: osls's logical ids, and the one environment change after a deploy."""

from local.deploy.ministack_deploy import _function_logical_id, add_environment


def test_function_logical_ids_are_spelled_as_osls_spells_them():
    assert _function_logical_id("upload") == "UploadLambdaFunction"
    assert _function_logical_id("my-fn_x") == "MyDashfnUnderscorexLambdaFunction"


class FakeLambda:
    def __init__(self, variables):
        self.variables = variables
        self.updates = []

    def client(self, service):
        assert service == "lambda"
        return self

    def get_function_configuration(self, FunctionName):
        return {"Environment": {"Variables": dict(self.variables)}}

    def update_function_configuration(self, FunctionName, Environment):
        self.updates.append((FunctionName, Environment["Variables"]))


def test_the_added_variables_keep_what_was_deployed():
    deployed = FakeLambda({"IMAGES_TABLE": "t", "RESULTS_TOPIC_ARN": "arn"})
    add_environment(deployed, "recognize", {"AWS_ENDPOINT_URL_REKOGNITION": "http://127.0.0.1:1"})
    assert deployed.updates == [
        (
            "recognize",
            {"IMAGES_TABLE": "t", "RESULTS_TOPIC_ARN": "arn", "AWS_ENDPOINT_URL_REKOGNITION": "http://127.0.0.1:1"},
        )
    ]


def test_nothing_to_add_changes_nothing():
    deployed = FakeLambda({"A": "1"})
    add_environment(deployed, "images", {})
    assert deployed.updates == []
