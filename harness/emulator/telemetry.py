"""What CloudWatch does with a Lambda function's output, done against moto: stdout lines into the function's
log group, EMF lines into metrics, the AWS/Lambda metrics of every invocation, and the AWS/SQS depth metrics
of the stack's queues (sampled once a minute, as SQS publishes them).

Shipping runs on a thread of its own so an invocation never waits for CloudWatch (as on Lambda).
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import boto3

from harness.contract import SQS_NAMESPACE
from harness.metrics import queue_name

QUEUE_SAMPLE_PERIOD_S: Final = 60.0
# AWS/SQS metric -> the GetQueueAttributes attribute it is read from. ApproximateAgeOfOldestMessage has no
# attribute: the API cannot tell a message's age without receiving it, which would change the queue.
QUEUE_DEPTH_ATTRIBUTES: Final = {
    "ApproximateNumberOfMessagesVisible": "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible": "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed": "ApproximateNumberOfMessagesDelayed",
}
PUT_METRIC_LIMIT: Final = 1000
SHIP_EVERY_S: Final = 1.0
SHIP_ITEMS_LIMIT: Final = 5000
LOG_BATCH_LIMIT: Final = 10_000


@dataclass(frozen=True)
class LogLine:
    timestamp_ms: int
    message: str


def emf_metric_data(document: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """PutMetricData entries per namespace for one EMF document, as CloudWatch Logs extracts them: one metric
    per (metric, dimension set), dimension values and metric values read from the document's root."""
    directive = document.get("_aws")
    if not isinstance(directive, dict):
        return {}
    stamp = datetime.fromtimestamp(int(directive.get("Timestamp", 0)) / 1000, tz=UTC)
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for block in directive.get("CloudWatchMetrics", []):
        namespace = block.get("Namespace", "aws-embedded-metrics")
        dimension_sets = block.get("Dimensions") or [[]]
        for metric in block.get("Metrics", []):
            name = metric["Name"]
            if name not in document:
                continue
            raw = document[name]
            values = [float(v) for v in (raw if isinstance(raw, list) else [raw])]
            for dimension_set in dimension_sets:
                if any(key not in document for key in dimension_set):
                    continue
                entry: dict[str, Any] = {
                    "MetricName": name,
                    "Dimensions": [{"Name": key, "Value": str(document[key])} for key in dimension_set],
                    "Timestamp": stamp,
                    "Values": values,
                    "Unit": metric.get("Unit", "None"),
                }
                if metric.get("StorageResolution") == 1:
                    entry["StorageResolution"] = 1
                by_namespace.setdefault(namespace, []).append(entry)
    return by_namespace


def parse_emf(line: str) -> dict[str, list[dict[str, Any]]]:
    text = line.strip()
    if not (text.startswith("{") and '"_aws"' in text):
        return {}
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    return emf_metric_data(document) if isinstance(document, dict) else {}


def lambda_metric_data(
    function_name: str, *, duration_ms: float, error: bool, concurrent: int, when: datetime
) -> list[dict[str, Any]]:
    dimensions = [{"Name": "FunctionName", "Value": function_name}]
    return [
        {"MetricName": name, "Dimensions": dimensions, "Timestamp": when, "Value": value, "Unit": unit}
        for name, value, unit in (
            ("Invocations", 1.0, "Count"),
            ("Errors", 1.0 if error else 0.0, "Count"),
            ("Duration", duration_ms, "Milliseconds"),
            ("Throttles", 0.0, "Count"),
            ("ConcurrentExecutions", float(concurrent), "Count"),
        )
    ]


def throttle_metric_data(function_name: str, *, when: datetime) -> dict[str, Any]:
    return {
        "MetricName": "Throttles",
        "Dimensions": [{"Name": "FunctionName", "Value": function_name}],
        "Timestamp": when,
        "Value": 1.0,
        "Unit": "Count",
    }


def queue_metric_data(
    queue_name: str, attributes: Mapping[str, str], *, when: datetime
) -> list[dict[str, Any]]:
    """The AWS/SQS depth metrics of one queue, from its GetQueueAttributes answer."""
    dimensions = [{"Name": "QueueName", "Value": queue_name}]
    return [
        {
            "MetricName": metric,
            "Dimensions": dimensions,
            "Timestamp": when,
            "Value": float(attributes.get(attribute, 0)),
            "Unit": "Count",
        }
        for metric, attribute in QUEUE_DEPTH_ATTRIBUTES.items()
    ]


class QueueGauge:
    """Samples the queues' depth at start and then every `period` seconds, and publishes it through the
    shipper: the queue-depth alarms' data, the dashboard's queue widgets and the load report's readback."""

    def __init__(
        self,
        session: boto3.Session,
        queue_urls: Sequence[str],
        shipper: Shipper,
        period: float = QUEUE_SAMPLE_PERIOD_S,
    ) -> None:
        self.sqs: Any = session.client("sqs")
        self.queue_urls = list(queue_urls)
        self.shipper = shipper
        self.period = period
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="queue-gauge", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def sample(self) -> None:
        when = datetime.now(UTC)
        for url in self.queue_urls:
            try:
                answer = self.sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=list(QUEUE_DEPTH_ATTRIBUTES.values())
                )
            except Exception:  # a queue deleted under the stack, a busy server: the next sample tries again
                self.failures += 1
                continue
            data = queue_metric_data(queue_name(url), answer["Attributes"], when=when)
            self.shipper.metrics(SQS_NAMESPACE, data)

    def _run(self) -> None:
        self.sample()
        while not self._stop.wait(self.period):
            self.sample()


class Shipper:
    """A background thread that writes log events and metric data to the moto server."""

    def __init__(self, session: boto3.Session, log_group: str) -> None:
        self.logs: Any = session.client("logs")
        self.cloudwatch: Any = session.client("cloudwatch")
        self.log_group = log_group
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="telemetry", daemon=True)
        self._streams: set[str] = set()
        self.failures = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything queued so far is written (tests read metrics right after)."""
        done = threading.Event()
        self._queue.put(("barrier", done))
        done.wait(timeout)

    def logs_and_metrics(self, stream: str, lines: Sequence[LogLine]) -> None:
        self._queue.put(("logs", (stream, list(lines))))
        for line in lines:
            for namespace, data in parse_emf(line.message).items():
                self._queue.put(("metrics", (namespace, data)))

    def metrics(self, namespace: str, data: Iterable[dict[str, Any]]) -> None:
        self._queue.put(("metrics", (namespace, list(data))))

    def _gather(self) -> list[tuple[str, Any] | None]:
        """What arrives within SHIP_EVERY_S of the first item (at once for a barrier or the stop)."""
        items = [self._queue.get()]
        deadline = time.monotonic() + SHIP_EVERY_S
        while items[-1] is not None and items[-1][0] != "barrier" and len(items) < SHIP_ITEMS_LIMIT:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                items.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return items

    def _run(self) -> None:
        """A second's output is written in as few calls as possible (one per log stream and per namespace),
        as Lambda's log agent batches, so invocations cost moto a few requests a second, not five each."""
        while True:
            items = self._gather()
            logs: dict[str, list[LogLine]] = {}
            metrics: dict[str, list[dict[str, Any]]] = {}
            barriers: list[threading.Event] = []
            stopping = False
            for item in items:
                if item is None:
                    stopping = True
                    continue
                kind, payload = item
                if kind == "barrier":
                    barriers.append(payload)
                elif kind == "logs":
                    logs.setdefault(payload[0], []).extend(payload[1])
                else:
                    metrics.setdefault(payload[0], []).extend(payload[1])
            for stream, lines in logs.items():
                self._guard(self._put_logs, stream, lines)
            for namespace, data in metrics.items():
                self._guard(self._put_metrics, namespace, data)
            for barrier in barriers:
                barrier.set()
            if stopping:
                return

    def _guard(self, write: Any, *args: Any) -> None:
        try:
            write(*args)
        except Exception:  # telemetry must never stop the function; counted in `failures`
            self.failures += 1

    def _put_logs(self, stream: str, lines: list[LogLine]) -> None:
        if not lines:
            return
        if stream not in self._streams:
            with contextlib.suppress(self.logs.exceptions.ResourceAlreadyExistsException):
                self.logs.create_log_stream(logGroupName=self.log_group, logStreamName=stream)
            self._streams.add(stream)
        ordered = sorted(lines, key=lambda line: line.timestamp_ms)  # PutLogEvents wants time order
        events = [{"timestamp": line.timestamp_ms, "message": line.message} for line in ordered]
        for start in range(0, len(events), LOG_BATCH_LIMIT):
            self.logs.put_log_events(
                logGroupName=self.log_group,
                logStreamName=stream,
                logEvents=events[start : start + LOG_BATCH_LIMIT],
            )

    def _put_metrics(self, namespace: str, data: list[dict[str, Any]]) -> None:
        for start in range(0, len(data), PUT_METRIC_LIMIT):
            self.cloudwatch.put_metric_data(
                Namespace=namespace, MetricData=data[start : start + PUT_METRIC_LIMIT]
            )
