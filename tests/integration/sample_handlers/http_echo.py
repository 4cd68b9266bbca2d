"""An HTTP API handler that answers with the request body it was given, binary or not."""


def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"content-type": event["headers"].get("content-type", "application/octet-stream")},
        "body": event.get("body", ""),
        "isBase64Encoded": event["isBase64Encoded"],
    }
