"""Returns what it was given and what it can see of its runtime, so tests can check both."""

import os

ENVIRONMENT_KEYS = (
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_TIMEOUT",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "LAMBDA_TASK_ROOT",
    "PYTHONUNBUFFERED",
    "SAMPLE_SETTING",
)

invocations_in_this_process = 0


def handler(event, context):
    global invocations_in_this_process
    invocations_in_this_process += 1
    return {
        "event": event,
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "invocations_in_this_process": invocations_in_this_process,
        "environment": {key: os.environ.get(key) for key in ENVIRONMENT_KEYS},
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    }
