"""An SQS consumer whose behaviour is chosen by each message body.

"ok..."    -> processed
"fail..."  -> reported in batchItemFailures
"raise..." -> the whole invocation raises
"sleep..." -> sleeps past any sensible timeout
Every event received is appended to $CAPTURE_FILE as one JSON line, so tests can inspect it.
"""

import json
import os
import time


def handler(event, context):
    capture_file = os.environ.get("CAPTURE_FILE")
    if capture_file:
        with open(capture_file, "a", encoding="utf-8") as capture:
            capture.write(json.dumps(event) + "\n")
    bodies = [record["body"] for record in event["Records"]]
    if any(body.startswith("raise") for body in bodies):
        raise RuntimeError("a message asked to fail the whole batch")
    if any(body.startswith("sleep") for body in bodies):
        time.sleep(600)
    failures = [
        {"itemIdentifier": record["messageId"]} for record in event["Records"] if record["body"].startswith("fail")
    ]
    return {"batchItemFailures": failures}
