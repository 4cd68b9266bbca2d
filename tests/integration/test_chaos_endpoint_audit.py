"""The chaos audit's reading of the webhooks table (local/chaos/endpoints.py), against moto."""

from lib.adapters.endpoint_records import EndpointTable
from local.chaos.endpoints import unsent


class _Stack:
    """What the audit reads of a stack: its session and its resources' physical names."""

    def __init__(self, aws):
        self.aws = aws

    def session(self):
        return self.aws.session

    def physical(self, logical_id):
        return self.aws.ref(logical_id)


def test_only_dead_lettered_events_never_sent_to_the_endpoint_count_as_held_upstream(aws):
    # GIVEN three events in the integration dead-letter queue: one sent to the endpoint, one claimed
    # for it but never sent (a throttle or crash between the two), one never claimed
    table = EndpointTable(aws.ref("WebhooksTable"))
    table.claim("alice", "ep_1", "msg_sent", "message-1")
    table.mark_sent("alice", "ep_1", "msg_sent")
    table.claim("alice", "ep_1", "msg_claimed", "message-2")
    upstream = {"msg_sent": "alice", "msg_claimed": "alice", "msg_never": "alice"}

    # THEN the two never sent are the ones a redrive would fan out again
    assert unsent(_Stack(aws), "ep_1", upstream) == {"msg_claimed", "msg_never"}
    # AND a send is recorded per endpoint and per owner
    assert unsent(_Stack(aws), "ep_2", upstream) == {"msg_sent", "msg_claimed", "msg_never"}
    assert unsent(_Stack(aws), "ep_1", {"msg_sent": "bob"}) == {"msg_sent"}
