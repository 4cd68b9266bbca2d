"""Returns something JSON cannot encode."""


def handler(event, context):
    return {"values": {1, 2, 3}}
