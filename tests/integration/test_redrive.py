"""Redriving dead-letter queues on moto: by copy (what emulators get), finding queues, and the CLI."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from local.commands import redrive as cli
from local.commands.dead_letters import RedriveError, move_with_task
from local.commands.redrive import Place, find_queue, redrive


@pytest.fixture
def place(aws) -> Place:
    return Place(aws.session, None, "image-recognition-local", None)


def dead_letter(aws, logical_id: str, count: int) -> None:
    sqs = aws.client("sqs")
    for index in range(count):
        sqs.send_message(
            QueueUrl=aws.ref(logical_id),
            MessageBody=json.dumps({"n": index}),
            MessageAttributes={"failure_reason": {"DataType": "String", "StringValue": f"HTTP 410 #{index}"}},
        )


def numbers(messages: list[dict]) -> list[int]:
    """The test's own messages among those drained (the uploads queue also holds S3's test event)."""
    return [json.loads(m["Body"])["n"] for m in messages if "n" in json.loads(m["Body"])]


def test_given_dead_letters_when_redriven_by_copy_then_all_are_back_in_the_source_queue_with_attributes(aws, place):
    dead_letter(aws, "IntegrationDeadLetterQueue", 23)

    result = redrive(place, "IntegrationDeadLetterQueue", method="copy")

    assert (result.moved.moved, result.moved.failed) == (23, 0)
    assert result.line().startswith(
        "redrive: moved 23 messages from image-recognition-local-IntegrationDeadLetterQueue"
    )
    assert sorted(numbers(aws.drain("IntegrationQueue"))) == list(range(23))
    assert aws.drain("IntegrationDeadLetterQueue") == []


def test_given_a_limit_when_redriven_then_only_that_many_move(aws, place):
    dead_letter(aws, "UploadsDeadLetterQueue", 5)

    assert redrive(place, "UploadsDeadLetterQueue", method="copy", limit=2).moved.moved == 2
    assert len(numbers(aws.drain("UploadsQueue"))) == 2 and len(aws.drain("UploadsDeadLetterQueue")) == 3


def test_given_a_source_queue_that_refuses_copies_then_the_messages_stay_in_the_dead_letter_queue(aws, place):
    dead_letter(aws, "UploadsDeadLetterQueue", 3)
    aws.client("sqs").delete_queue(QueueUrl=aws.ref("UploadsQueue"))

    with pytest.raises(ClientError, match="QueueDoesNotExist|does not exist"):
        redrive(place, "UploadsDeadLetterQueue", to=aws.ref("UploadsQueue"), method="copy")

    # Received, so hidden for a while, but not deleted: they come back for the next attempt.
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=aws.ref("UploadsDeadLetterQueue"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert (
        int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 3
    )


def test_given_a_url_a_logical_id_or_a_name_then_the_same_queue_is_found(aws, place):
    url = aws.ref("UploadsDeadLetterQueue")

    assert find_queue(place, url) == url
    assert find_queue(place, "UploadsDeadLetterQueue") == url
    assert find_queue(place, "image-recognition-local-UploadsDeadLetterQueue") == url
    with pytest.raises(RedriveError, match="no queue 'Nope'"):
        find_queue(place, "Nope")


def test_given_a_stage_then_a_logical_id_is_found_in_its_cloudformation_stack(aws):
    template = {
        "Resources": {
            "UploadsDeadLetterQueue": {"Type": "AWS::SQS::Queue"},
            "UploadsQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "RedrivePolicy": {
                        "deadLetterTargetArn": {"Fn::GetAtt": ["UploadsDeadLetterQueue", "Arn"]},
                        "maxReceiveCount": 5,
                    }
                },
            },
        }
    }
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(StackName="image-recognition-dev", TemplateBody=json.dumps(template))
    deployed = Place(aws.session, None, "image-recognition-dev", "dev")
    physical = cloudformation.describe_stack_resource(
        StackName="image-recognition-dev", LogicalResourceId="UploadsDeadLetterQueue"
    )["StackResourceDetail"]["PhysicalResourceId"]
    aws.client("sqs").send_message(QueueUrl=physical, MessageBody="{}")

    result = redrive(deployed, "UploadsDeadLetterQueue", method="copy")

    assert result.dead_letter_url == physical and result.moved.moved == 1
    assert "image-recognition-dev-UploadsQueue" in result.source_url


def test_given_the_command_line_then_it_prints_the_count_and_exits_zero(aws, capsys):
    dead_letter(aws, "UploadsDeadLetterQueue", 4)

    code = cli.main(["image-recognition-local-UploadsDeadLetterQueue", "--method", "copy", "--region", "us-east-1"])

    assert code == 0
    assert "redrive: moved 4 messages from image-recognition-local-UploadsDeadLetterQueue" in capsys.readouterr().out
    assert len(numbers(aws.drain("UploadsQueue"))) == 4


class MoveTasks:
    """SQS's message move task, as AWS reports it: running for a while, then ended."""

    def __init__(self, statuses: list[dict]):
        self.statuses = statuses
        self.started = []

    def start_message_move_task(self, **kwargs):
        self.started.append(kwargs)
        return {"TaskHandle": "handle-1"}

    def list_message_move_tasks(self, **kwargs):
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"Results": [{"TaskHandle": "handle-1", **status}]}


def test_given_a_move_task_that_completes_then_its_count_is_reported(monkeypatch):
    monkeypatch.setattr("local.commands.dead_letters.TASK_POLL_SECONDS", 0.01)
    sqs = MoveTasks([{"Status": "RUNNING"}, {"Status": "COMPLETED", "ApproximateNumberOfMessagesMoved": 7}])

    moved = move_with_task(sqs, "arn:dlq", "arn:source")

    assert (moved.moved, moved.method) == (7, "move task")
    assert sqs.started == [{"SourceArn": "arn:dlq", "DestinationArn": "arn:source"}]


def test_given_a_move_task_that_fails_then_redrive_error_with_the_reason(monkeypatch):
    monkeypatch.setattr("local.commands.dead_letters.TASK_POLL_SECONDS", 0.01)
    sqs = MoveTasks([{"Status": "FAILED", "FailureReason": "AccessDenied"}])

    with pytest.raises(RedriveError, match="FAILED: AccessDenied"):
        move_with_task(sqs, "arn:dlq", "arn:source")
