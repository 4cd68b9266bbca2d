"""Allocates event["mb"] megabytes and touches every page, so they count as resident memory."""

import os


def handler(event, context):
    held = bytearray(event["mb"] * 1024 * 1024)
    for offset in range(0, len(held), 4096):
        held[offset] = 1
    return {"pid": os.getpid(), "held_mb": len(held) // (1024 * 1024)}
