"""Raises a domain-looking exception; the worker must stay warm afterwards."""

import os


class ImageRejected(Exception):
    pass


def handler(event, context):
    if event.get("fail", True):
        raise ImageRejected(event.get("message", "rejected"))
    return {"pid": os.getpid()}
