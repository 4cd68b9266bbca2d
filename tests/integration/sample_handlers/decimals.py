"""Returns DynamoDB-style Decimal numbers, which the managed Python runtime serialises as JSON numbers."""

from decimal import Decimal


def handler(event, context):
    return {"count": Decimal("3"), "confidence": Decimal("99.5")}
