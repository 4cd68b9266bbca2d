"""Fails while being imported, like a handler with a missing dependency."""

raise ImportError("No module named 'a_dependency_nobody_installed'")


def handler(event, context):  # pragma: no cover - never reached
    return None
