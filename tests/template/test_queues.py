"""The queue outlasts the function: visibility, retention, redrive, encryption and who may send."""

from __future__ import annotations

from typing import Any

import pytest

from harness.params import load_template

WEEKEND_SECONDS = 3 * 24 * 3600  # Friday evening to Monday evening
TIMEOUTS = load_template()["Parameters"]["Timeout"]["AllowedValues"]


def _visibility(template: dict[str, Any], timeout: str) -> int:
    lookup = template["Resources"]["ProcessingQueue"]["Properties"]["VisibilityTimeout"]["Fn::FindInMap"]
    assert lookup[:2] == ["TimeoutSettings", {"Ref": "Timeout"}]
    return int(template["Mappings"]["TimeoutSettings"][timeout][lookup[2]])


def _function_timeout(template: dict[str, Any], timeout: str) -> int:
    lookup = template["Resources"]["ProcessingFunction"]["Properties"]["Timeout"]["Fn::FindInMap"]
    assert lookup[:2] == ["TimeoutSettings", {"Ref": "Timeout"}]
    return int(template["Mappings"]["TimeoutSettings"][timeout][lookup[2]])


def test_every_allowed_timeout_has_a_row_in_the_mapping(template: dict[str, Any]) -> None:
    assert sorted(template["Mappings"]["TimeoutSettings"], key=int) == sorted(TIMEOUTS, key=int)


@pytest.mark.parametrize("timeout", [min(TIMEOUTS, key=int), max(TIMEOUTS, key=int)])
def test_the_function_gets_the_timeout_chosen(template: dict[str, Any], timeout: str) -> None:
    assert _function_timeout(template, timeout) == int(timeout)


@pytest.mark.parametrize("timeout", TIMEOUTS)
def test_visibility_covers_six_timeouts_plus_the_largest_batching_window(
    template: dict[str, Any], timeout: str
) -> None:
    largest_window = template["Parameters"]["MaximumBatchingWindow"]["MaxValue"]
    visibility = _visibility(template, timeout)

    assert visibility >= 6 * _function_timeout(template, timeout) + largest_window
    assert visibility <= 43200, "SQS allows at most 12 hours"


def test_messages_survive_a_weekend_and_the_dead_letter_queue_keeps_them_longer(
    resources: dict[str, Any],
) -> None:
    processing = resources["ProcessingQueue"]["Properties"]["MessageRetentionPeriod"]
    dead_letters = resources["DeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]

    assert processing > WEEKEND_SECONDS
    # SQS keeps a message's original enqueue time when it moves to the DLQ: the DLQ must hold it longer.
    assert dead_letters > processing


def test_messages_move_to_the_dead_letter_queue_after_max_receive_count(resources: dict[str, Any]) -> None:
    assert resources["ProcessingQueue"]["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
        "maxReceiveCount": {"Ref": "MaxReceiveCount"},
    }


@pytest.mark.parametrize("queue", ["ProcessingQueue", "DeadLetterQueue"])
def test_queues_use_sqs_managed_encryption(resources: dict[str, Any], queue: str) -> None:
    properties = resources[queue]["Properties"]
    assert properties["SqsManagedSseEnabled"] is True
    assert "KmsMasterKeyId" not in properties, "aws/sqs would stop S3 notifications; a CMK is not needed"


def _queue_statements(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    policy = resources["ProcessingQueuePolicy"]["Properties"]
    assert policy["Queues"] == [{"Ref": "ProcessingQueue"}]
    return {statement["Sid"]: statement for statement in policy["PolicyDocument"]["Statement"]}


def test_only_s3_may_send_and_only_from_this_bucket_and_account(resources: dict[str, Any]) -> None:
    statements = _queue_statements(resources)
    allows = [s for s in statements.values() if s["Effect"] == "Allow"]

    assert len(allows) == 1
    (allow,) = allows
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Resource"] == {"Fn::GetAtt": ["ProcessingQueue", "Arn"]}
    assert set(allow["Condition"]) == {"ArnEquals", "StringEquals"}
    assert set(allow["Condition"]["ArnEquals"]) == {"aws:SourceArn"}
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_the_queue_refuses_requests_without_tls(resources: dict[str, Any]) -> None:
    deny = _queue_statements(resources)["DenyRequestsWithoutTls"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_event_source_mapping_reports_partial_failures_and_caps_concurrency(
    resources: dict[str, Any],
) -> None:
    mapping = resources["ProcessingEventSourceMapping"]["Properties"]
    assert mapping == {
        "EventSourceArn": {"Fn::GetAtt": ["ProcessingQueue", "Arn"]},
        "FunctionName": {"Ref": "ProcessingFunction"},
        "Enabled": True,
        "BatchSize": {"Ref": "BatchSize"},
        "MaximumBatchingWindowInSeconds": {"Ref": "MaximumBatchingWindow"},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": {"Ref": "MaximumConcurrency"}},
    }


def test_batches_above_ten_need_a_batching_window(template: dict[str, Any]) -> None:
    (assertion,) = template["Rules"]["LargeBatchesNeedABatchingWindow"]["Assertions"]
    small_batch, has_window = assertion["Assert"]["Fn::Or"]
    assert small_batch == {"Fn::Contains": [[str(n) for n in range(1, 11)], {"Ref": "BatchSize"}]}
    assert has_window == {"Fn::Not": [{"Fn::Equals": [{"Ref": "MaximumBatchingWindow"}, "0"]}]}
