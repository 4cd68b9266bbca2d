"""The fault suite: many images through the local stack while its parts fail, then an audit for loss.

`python -m local chaos` (and `make chaos`) runs it at full size; tests/e2e/test_chaos.py at a small
one. Faults: a webhook receiver failing at random (500, 429 with Retry-After, no answer, reset), the
local Rekognition throttling, duplicate SQS deliveries (visibility timeouts that expire under a second
poller, and copies of S3 notifications), and the recognition worker killed mid-batch. The audit then
checks that every accepted image ends in one record in a final state, with its completion event
delivered or dead-lettered, and that nothing is lost, duplicated or orphaned.
"""
