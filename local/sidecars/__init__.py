"""Helpers that run beside the stack: the webhook inbox, its fault mode, and the fixture server."""
