from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from handler.constants import ERROR_TYPE_DIMENSION, METRICS_NAMESPACE, SERVICE_DIMENSION, MetricName
from harness.metrics import MetricsReport, read_metrics, window_period

STACK = "photopipe-test"
OUTPUTS = {
    "FunctionName": "photopipe-test-fn",
    "ProcessingQueueUrl": "https://sqs.us-west-2.amazonaws.com/123456789012/photopipe-test-queue",
    "DeadLetterQueueUrl": "https://sqs.us-west-2.amazonaws.com/123456789012/photopipe-test-dlq",
}
NOW = datetime.now(UTC).replace(microsecond=0)


def _put(
    session: boto3.Session, namespace: str, name: str, dimensions: dict[str, str], *values: float
) -> None:
    session.client("cloudwatch").put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                "Value": value,
                "Timestamp": NOW - timedelta(minutes=3),
            }
            for value in values
        ],
    )


@pytest.fixture
def report(session: boto3.Session) -> MetricsReport:
    service = {SERVICE_DIMENSION: STACK}
    _put(session, METRICS_NAMESPACE, MetricName.PROCESSED_IMAGES, service, 1, 1, 1)
    _put(
        session,
        METRICS_NAMESPACE,
        MetricName.PROCESSING_ERRORS,
        {**service, ERROR_TYPE_DIMENSION: "NotAnImage"},
        1,
    )
    _put(
        session,
        METRICS_NAMESPACE,
        MetricName.PROCESSING_ERRORS,
        {**service, ERROR_TYPE_DIMENSION: "CorruptImage"},
        2,
    )
    _put(session, METRICS_NAMESPACE, MetricName.PROCESSED_IMAGES, {SERVICE_DIMENSION: "another-stack"}, 50)
    _put(session, "AWS/Lambda", "Invocations", {"FunctionName": OUTPUTS["FunctionName"]}, 2, 3)
    _put(session, "AWS/Lambda", "Duration", {"FunctionName": OUTPUTS["FunctionName"]}, 100, 300)
    _put(session, "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "photopipe-test-dlq"}, 1, 4)
    return read_metrics(session, STACK, start=NOW - timedelta(minutes=10), end=NOW, outputs=OUTPUTS)


def test_handler_counts_are_summed_for_this_stack_only(report: MetricsReport) -> None:
    assert report.total(MetricName.PROCESSED_IMAGES) == 3


def test_every_error_type_appears_and_adds_up(report: MetricsReport) -> None:
    assert report.get(MetricName.PROCESSING_ERRORS, "Sum", ErrorType="CorruptImage") == 2
    assert report.total(MetricName.PROCESSING_ERRORS) == 3


def test_lambda_invocations_and_duration_are_read_by_function_name(report: MetricsReport) -> None:
    assert report.get("Invocations", "Sum", namespace="AWS/Lambda") == 5
    assert report.get("Duration", "Maximum", namespace="AWS/Lambda") == 300
    assert report.get("Duration", "Average", namespace="AWS/Lambda") == 200


def test_queue_depth_is_read_for_the_dead_letter_queue(report: MetricsReport) -> None:
    assert report.get("ApproximateNumberOfMessagesVisible", "Maximum", QueueName="photopipe-test-dlq") == 4


def test_statistics_the_endpoint_cannot_compute_are_missing_with_a_note(report: MetricsReport) -> None:
    assert report.get("Duration", "p95", namespace="AWS/Lambda") is None
    assert any("percentile" in note for note in report.notes)


def test_a_metric_without_data_is_none_not_zero(report: MetricsReport) -> None:
    assert report.get("Throttles", "Sum", namespace="AWS/Lambda") is None


def test_the_window_is_one_period_rounded_up_to_a_minute() -> None:
    assert window_period(NOW - timedelta(seconds=61), NOW) == 120
    with pytest.raises(ValueError, match="must end after it starts"):
        window_period(NOW, NOW)


def test_a_datapoint_from_this_very_second_is_inside_the_default_window(session: boto3.Session) -> None:
    session.client("cloudwatch").put_metric_data(
        Namespace=METRICS_NAMESPACE,
        MetricData=[
            {
                "MetricName": MetricName.PROCESSED_IMAGES,
                "Dimensions": [{"Name": SERVICE_DIMENSION, "Value": STACK}],
                "Value": 1,
            }
        ],
    )

    assert read_metrics(session, STACK, minutes=5, outputs=OUTPUTS).total(MetricName.PROCESSED_IMAGES) == 1
