"""The local stack's pieces that need no server: template resolution, the wiring's request shapes,
Lambda's SQS event and partial-batch rules, EMF extraction, and a worker's timeout."""

from __future__ import annotations

import socket
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harness.contract import DEFAULT_STACK_NAME
from harness.emulator.interpreters import choose_interpreter
from harness.emulator.resolve import Resolver
from harness.emulator.runtime import failed_message_ids, sqs_record
from harness.emulator.server import MotoServer
from harness.emulator.telemetry import parse_emf, queue_metric_data
from harness.emulator.wiring import WiringReport, lifecycle_rules, local_policy, notification_configuration
from harness.emulator.worker import Invocation, Worker
from harness.params import load_template
from tests.support.cfn import fake_resolver

STACK_ID = (
    f"arn:aws:cloudformation:us-west-2:123456789012:stack/{DEFAULT_STACK_NAME}/0a1b2c3d-aaaa-bbbb-cccc-dddd"
)


def resolver(**given: str) -> Resolver:
    pseudo = {
        "AWS::AccountId": "123456789012",
        "AWS::Region": "us-west-2",
        "AWS::StackName": DEFAULT_STACK_NAME,
        "AWS::StackId": STACK_ID,
    }
    return fake_resolver(load_template(), given, pseudo=pseudo)


def test_the_upload_bucket_name_resolves_from_parameters_and_the_stack_id() -> None:
    props = resolver().properties("UploadBucket")
    assert props["BucketName"] == "photopipe-upload-123456789012-us-west-2-0a1b2c3d"


def test_the_upload_notification_targets_the_queue_and_filters_by_prefix_only_when_one_is_given() -> None:
    plain = notification_configuration(resolver().properties("UploadBucket")["NotificationConfiguration"])
    prefixed = notification_configuration(
        resolver(UploadKeyPrefix="in/").properties("UploadBucket")["NotificationConfiguration"]
    )
    assert plain["QueueConfigurations"] == [
        {"QueueArn": "ProcessingQueue-Arn", "Events": ["s3:ObjectCreated:*"]},
        {"QueueArn": "ProcessingQueue-Arn", "Events": ["s3:ObjectRemoved:*"]},
    ]
    for target in prefixed["QueueConfigurations"]:
        assert target["Filter"] == {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}}


def test_removals_are_wired_only_while_deletion_propagation_is_enabled() -> None:
    disabled = resolver(DeletionPropagation="Disabled").properties("UploadBucket")
    targets = notification_configuration(disabled["NotificationConfiguration"])["QueueConfigurations"]
    assert [target["Events"] for target in targets] == [["s3:ObjectCreated:*"]]


def test_no_value_removes_a_lifecycle_rule_and_a_transition_day_count_adds_one() -> None:
    without = lifecycle_rules(resolver().properties("ProcessedBucket")["LifecycleConfiguration"])
    with_transition = lifecycle_rules(
        resolver(RenditionTransitionDays="30").properties("ProcessedBucket")["LifecycleConfiguration"]
    )
    assert len(with_transition) == len(without) + 1
    assert with_transition[-1]["Transitions"] == [{"Days": 30, "StorageClass": "STANDARD_IA"}]


def test_the_timeout_map_is_read_with_the_parameter_as_text() -> None:
    props = resolver(Timeout="15").properties("ProcessingQueue")
    assert props["VisibilityTimeout"] == 390


def test_an_email_subscription_exists_only_when_an_email_is_given() -> None:
    assert not resolver().resource_exists("ErrorTopicEmailSubscription")
    assert resolver(NotificationEmail="ops@example.com").resource_exists("ErrorTopicEmailSubscription")


def test_conditional_deny_statements_are_left_out_of_a_local_policy_and_reported() -> None:
    document = {
        "Statement": [
            {"Sid": "Tls", "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "Keep", "Effect": "Allow", "Action": "sns:Publish"},
        ]
    }
    report = WiringReport()
    assert '"Sid": "Keep"' in local_policy(document, "topic", report)
    assert "Tls" not in local_policy(document, "topic", WiringReport())
    assert len(report.notes) == 1


def message(message_id: str = "m1", **extra: Any) -> dict[str, Any]:
    return {
        "MessageId": message_id,
        "ReceiptHandle": "rh",
        "Body": "{}",
        "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
        **extra,
    }


def test_an_sqs_record_has_the_fields_and_spelling_of_lambdas_sqs_event() -> None:
    record = sqs_record(
        message(MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}}),
        "arn:aws:sqs:us-west-2:123456789012:q",
        "us-west-2",
    )
    assert record == {
        "messageId": "m1",
        "receiptHandle": "rh",
        "body": "{}",
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
        "messageAttributes": {
            "kind": {"stringValue": "x", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
        },
        "md5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-west-2:123456789012:q",
        "awsRegion": "us-west-2",
    }


@pytest.mark.parametrize(
    ("invocation", "report", "kept"),
    [
        (Invocation("r", ok=True, result={"batchItemFailures": [{"itemIdentifier": "b"}]}), True, {"b"}),
        (Invocation("r", ok=True, result={"batchItemFailures": []}), True, set()),
        (Invocation("r", ok=True, result={"batchItemFailures": [{"itemIdentifier": "b"}]}), False, set()),
        (
            Invocation("r", ok=True, result={"batchItemFailures": [{"itemIdentifier": "zz"}]}),
            True,
            {"a", "b"},
        ),
        (Invocation("r", ok=False, error={"errorType": "ValueError"}), True, {"a", "b"}),
    ],
    ids=["listed-failure", "none-failed", "not-reported-by-the-mapping", "unknown-id-fails-all", "exception"],
)
def test_the_messages_left_in_the_queue_follow_lambdas_partial_batch_rules(
    invocation: Invocation, report: bool, kept: set[str]
) -> None:
    assert failed_message_ids(invocation, ["a", "b"], report) == kept


def test_an_emf_line_becomes_one_metric_per_dimension_set() -> None:
    line = (
        '{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"Photopipe",'
        '"Dimensions":[["service"],["service","ErrorType"]],"Metrics":[{"Name":"ProcessingErrors","Unit":"Count"}]}]},'
        '"service":"s","ErrorType":"NotAnImage","ProcessingErrors":[1.0]}'
    )
    data = parse_emf(line)["Photopipe"]
    assert [d["Dimensions"] for d in data] == [
        [{"Name": "service", "Value": "s"}],
        [{"Name": "service", "Value": "s"}, {"Name": "ErrorType", "Value": "NotAnImage"}],
    ]
    assert {d["Unit"] for d in data} == {"Count"}
    assert parse_emf('{"level": "INFO", "message": "not a metric"}') == {}


def test_a_queues_depth_becomes_the_aws_sqs_metrics_cloudwatch_would_publish() -> None:
    when = datetime(2026, 11, 29, tzinfo=UTC)
    attributes = {"ApproximateNumberOfMessages": "3", "ApproximateNumberOfMessagesNotVisible": "2"}

    data = queue_metric_data("photos-dlq", attributes, when=when)

    assert {d["MetricName"]: d["Value"] for d in data} == {
        "ApproximateNumberOfMessagesVisible": 3.0,
        "ApproximateNumberOfMessagesNotVisible": 2.0,
        "ApproximateNumberOfMessagesDelayed": 0.0,
    }
    assert {(d["Dimensions"][0]["Name"], d["Dimensions"][0]["Value"]) for d in data} == {
        ("QueueName", "photos-dlq")
    }


def test_a_worker_past_its_timeout_is_killed_and_the_invocation_fails(tmp_path: Path) -> None:
    package = tmp_path / "slow.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("slow.py", "import time\n\ndef handler(event, context):\n    time.sleep(30)\n")
        archive.extractall(tmp_path / "task")
    environment = {
        "LAMBDA_TASK_ROOT": str(tmp_path / "task"),
        "LAMBDA_RUNTIME_DIR": str(tmp_path),
        "_HANDLER": "slow.handler",
        "AWS_LAMBDA_FUNCTION_NAME": "slow",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/slow",
        "_PHOTOPIPE_FUNCTION_ARN": "arn:aws:lambda:us-west-2:123456789012:function:slow",
    }
    worker = Worker(choose_interpreter("python3.13").path, environment, generation=0)
    worker.start()
    invocation = worker.invoke({}, timeout_s=1.0, function_arn="arn")
    assert invocation.timed_out
    assert not worker.alive
    assert any("Task timed out after 1.00 seconds" in line.message for line in invocation.lines)


def test_the_runtimes_python_runs_the_function_when_it_is_installed() -> None:
    chosen = choose_interpreter("python3.12")
    assert chosen.runtime == "python3.12"
    assert chosen.note == ""


def test_without_the_runtimes_python_the_harness_python_runs_it_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("harness.emulator.interpreters.candidates", lambda version: [])
    chosen = choose_interpreter("python3.13")
    assert chosen.path == Path(sys.executable)
    assert chosen.runtime == f"python{sys.version_info[0]}.{sys.version_info[1]}"
    assert "Runtime=python3.13" in chosen.note
    assert "not installed" in chosen.note


def test_a_busy_port_is_refused_with_a_way_out() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        with pytest.raises(RuntimeError, match="--port 0"):
            MotoServer(holder.getsockname()[1]).start()
