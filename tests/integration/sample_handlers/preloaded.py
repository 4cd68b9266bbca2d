"""Reports what was imported, and which environment it saw, before its own module code ran."""

import os
import sys

PRELOADED = "boto3" in sys.modules and "aws_lambda_powertools" in sys.modules
# The zygote warmed boto3's default session; a fresh interpreter has none yet.
INHERITED_SESSION = PRELOADED and sys.modules["boto3"].DEFAULT_SESSION is not None
PROJECT_MODULES = sorted(name for name in sys.modules if name.split(".")[0] in ("handlers", "lib"))
SEEN_AT_IMPORT = {
    "setting": os.environ.get("SAMPLE_SETTING"),
    "key": os.environ.get("AWS_ACCESS_KEY_ID"),
    "function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
}


def handler(event, context):
    import boto3

    # A client on the default session, as lib/adapters/clients.py builds them, signs with this function's keys.
    boto3.client("sqs", region_name="us-east-1")
    signing_key = boto3.DEFAULT_SESSION.get_credentials().access_key
    return {
        "preloaded": PRELOADED,
        "inherited_session": INHERITED_SESSION,
        "signing_key": signing_key,
        "project_modules": PROJECT_MODULES,
        **SEEN_AT_IMPORT,
    }
