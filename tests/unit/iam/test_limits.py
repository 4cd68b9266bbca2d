"""AWS's size limits: 256 KiB per SQS or SNS message, 400 KB per DynamoDB item."""

from local.aws import limits


def test_an_sqs_message_over_256_kib_is_refused_with_aws_error_and_one_at_the_limit_passes():
    assert limits.check("sqs", "SendMessage", {"MessageBody": "x" * 262_144}) is None
    refused = limits.check("sqs", "SendMessage", {"MessageBody": "x" * 262_145})
    assert refused is not None and refused.code == "InvalidParameterValue"
    assert "262144" in refused.message


def test_message_attributes_count_towards_the_limit():
    body = {
        "MessageBody": "x" * 262_100,
        "MessageAttributes": {"name": {"DataType": "String", "StringValue": "y" * 100}},
    }
    assert limits.check("sqs", "SendMessage", body) is not None
    batch = {"Entries": [{"Id": "1", "MessageBody": "small"}, {"Id": "2", "MessageBody": "é" * 131_073}]}
    assert limits.check("sqs", "SendMessageBatch", batch) is not None


def test_an_sns_message_over_256_kib_is_refused():
    refused = limits.check("sns", "Publish", {"Message": "x" * 262_145})
    assert refused is not None and (refused.code, refused.message) == (
        "InvalidParameter",
        "Invalid parameter: Message too long",
    )


def test_a_dynamodb_item_over_400_kb_is_refused_in_every_write_that_carries_it():
    big = {"pk": {"S": "a"}, "blob": {"S": "x" * 409_600}}
    small = {"pk": {"S": "a"}, "n": {"N": "12345"}, "l": {"L": [{"S": "x"}, {"BOOL": True}]}}
    assert limits.check("dynamodb", "PutItem", {"Item": small}) is None
    assert limits.check("dynamodb", "PutItem", {"Item": big}).code == "ValidationException"
    batch = {"RequestItems": {"t": [{"PutRequest": {"Item": small}}, {"PutRequest": {"Item": big}}]}}
    assert limits.check("dynamodb", "BatchWriteItem", batch) is not None


def test_item_size_counts_names_and_values_as_aws_does():
    assert limits.item_size({"ab": {"S": "héllo"}}) == 2 + 6
    assert limits.item_size({"b": {"BOOL": True}, "n": {"NULL": True}}) == 4
    assert limits.item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + 1 + 1 + 1
