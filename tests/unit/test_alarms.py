"""The CloudWatch alarms serverless.yml declares for operators (docs/operations.md)."""

import re

import pytest
import yaml

from local import paths, topology


@pytest.fixture(scope="module")
def system():
    return topology.load("local", env={})


@pytest.fixture(scope="module")
def alarms():
    """Every AWS::CloudWatch::Alarm in serverless.yml's resource blocks, by logical id."""
    document = yaml.safe_load(paths.SERVERLESS_YML.read_text())
    blocks = [block for block in document["resources"] if isinstance(block, dict)]
    return {
        logical_id: resource["Properties"]
        for block in blocks
        for logical_id, resource in (block.get("Resources") or {}).items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def alarm_on(alarms, metric: str, queue: str) -> dict:
    [alarm] = [
        a
        for a in alarms.values()
        if a.get("MetricName") == metric
        and a.get("Dimensions") == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
    ]
    return alarm


def source_queues(system):
    return [queue for queue in system.queues if queue.dead_letter_queue]


def test_every_dead_letter_queue_alarms_as_soon_as_it_holds_a_message(system, alarms):
    for source in source_queues(system):
        alarm = alarm_on(alarms, "ApproximateNumberOfMessagesVisible", source.dead_letter_queue)
        assert (alarm["Namespace"], alarm["Statistic"], alarm["Threshold"]) == ("AWS/SQS", "Maximum", 0)
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Period"] == 60


def test_every_source_queue_alarms_when_its_oldest_message_outlives_its_retries(system, alarms):
    for source in source_queues(system):
        alarm = alarm_on(alarms, "ApproximateAgeOfOldestMessage", source.logical_id)
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        # Younger than all its tries could take, a message is still being retried, not stuck.
        assert alarm["Threshold"] >= source.visibility_timeout * source.max_receive_count


def test_every_alarm_notifies_the_alarm_topic_both_ways_and_an_idle_queue_is_fine(system, alarms):
    assert "AlarmTopic" in {topic.logical_id for topic in system.topics}
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["TreatMissingData"] == "notBreaching"
        assert "docs/operations.md" in alarm["AlarmDescription"]


def test_alarms_are_declared_but_not_reproduced_locally(system, alarms):
    # Six on the queues (two per source queue), and five on the functions' metrics (throttles ours
    # and Lambda's, FAILED rate, latency, endpoints disabled).
    assert len(alarms) == 11
    assert "AWS::CloudWatch::Alarm" in system.unsupported


def test_deliver_counts_a_dead_letter_where_the_integration_queue_gives_up(system):
    [deliver] = [f for f in system.functions if f.name == "deliver"]
    [queue] = [q for q in system.queues if q.logical_id == "IntegrationQueue"]
    assert int(deliver.environment["WEBHOOK_MAX_ATTEMPTS"]) == queue.max_receive_count


def test_docs_operations_has_one_row_for_each_alarm_and_no_other(alarms):
    text = (paths.PROJECT_ROOT / "docs" / "operations.md").read_text()
    section = text.split("## Alarms", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+Alarm)` \|", section, flags=re.MULTILINE)
    assert sorted(rows) == sorted(alarms)


def test_the_fixed_cost_table_counts_what_serverless_yml_declares(alarms):
    """docs/deploy.md's idle costs: the alarm and dashboard counts, and the total of the table."""
    document = yaml.safe_load(paths.SERVERLESS_YML.read_text())
    declared = [
        r for block in document["resources"] if isinstance(block, dict) for r in block.get("Resources", {}).values()
    ]
    dashboards = sum(r["Type"] == "AWS::CloudWatch::Dashboard" for r in declared)
    keys = sum(r["Type"] == "AWS::KMS::Key" for r in declared)
    text = (paths.PROJECT_ROOT / "docs" / "deploy.md").read_text()
    section = text.split("## What a stage costs when idle", 1)[1].split("\n## ", 1)[0]
    rows = {m[0]: (m[1], float(m[2])) for m in re.findall(r"^\| ([^|]+?) \| (\d+)[^|]*\| \$([\d.]+) ", section, re.M)}
    assert rows["CloudWatch alarms (standard resolution)"][0] == str(len(alarms))
    assert rows["CloudWatch dashboard"][0] == str(dashboards)
    assert rows["KMS customer managed keys"][0] == str(keys)
    total = sum(int(count) * price for count, price in rows.values())
    assert f"**${total:.2f}**" in section
    assert f"about ${total:.2f} a month" in (paths.PROJECT_ROOT / "README.md").read_text()
