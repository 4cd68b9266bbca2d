"""Reports what was imported, and which environment it saw, before its own module code ran."""

import os
import sys

PRELOADED = "boto3" in sys.modules and "aws_lambda_powertools" in sys.modules
PROJECT_MODULES = sorted(name for name in sys.modules if name.split(".")[0] in ("handlers", "lib"))
SEEN_AT_IMPORT = {
    "setting": os.environ.get("SAMPLE_SETTING"),
    "key": os.environ.get("AWS_ACCESS_KEY_ID"),
    "function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
}


def handler(event, context):
    return {"preloaded": PRELOADED, "project_modules": PROJECT_MODULES, **SEEN_AT_IMPORT}
