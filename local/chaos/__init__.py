"""The fault suite: many images through the local stack while its parts fail, then an audit for loss.

`python -m local chaos` (and `make chaos`) runs it at full size; tests/e2e/test_chaos.py at a small
one. Faults: a webhook receiver failing at random (500, 429 with Retry-After, no answer, reset), the
local Rekognition throttling, duplicate SQS deliveries (visibility timeouts that expire under a second
poller, and copies of S3 notifications), the recognition worker killed mid-batch, and an owner's
subscribed endpoints each failing its own way: one healthy, one failing a share of its requests, one
slow, one answering 410 Gone, which disables it. The audit then checks that every accepted image
ends in one record in a final state, with its completion event delivered or dead-lettered, each
endpoint's copy of it too (or skipped, for the endpoint that went away), and that nothing is lost,
duplicated or orphaned.
"""
