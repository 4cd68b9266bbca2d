"""The chaos audit's reading of the webhooks table (local/chaos/endpoints.py), against moto."""

from lib.adapters.endpoint_records import EndpointTable
from local.chaos.endpoints import unclaimed


class _Stack:
    """What the audit reads of a stack: its session and its resources' physical names."""

    def __init__(self, aws):
        self.aws = aws

    def session(self):
        return self.aws.session

    def physical(self, logical_id):
        return self.aws.ref(logical_id)


def test_only_dead_lettered_events_never_claimed_for_the_endpoint_count_as_held_upstream(aws):
    # GIVEN two events in the integration dead-letter queue, one of them claimed for the endpoint
    EndpointTable(aws.ref("WebhooksTable")).claim("alice", "ep_1", "msg_claimed", "message-1")
    upstream = {"msg_claimed": "alice", "msg_never": "alice"}

    # THEN only the one never claimed is one a redrive would fan out again
    assert unclaimed(_Stack(aws), "ep_1", upstream) == {"msg_never"}
    # AND a claim is per endpoint and per owner
    assert unclaimed(_Stack(aws), "ep_2", upstream) == {"msg_claimed", "msg_never"}
    assert unclaimed(_Stack(aws), "ep_1", {"msg_claimed": "bob"}) == {"msg_claimed"}
