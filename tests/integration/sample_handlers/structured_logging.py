"""Uses aws-lambda-powertools' Logger the way the real handlers do."""

from aws_lambda_powertools import Logger

logger = Logger(service="sample")


@logger.inject_lambda_context
def handler(event, context):
    logger.info("handled", extra={"marker": event["marker"]})
    return {"logged": event["marker"]}
