"""Read the pipeline's CloudWatch metrics over a time window with GetMetricData.

One period spanning the whole window gives one figure per metric: what a user wants after a run ("how many
images, how many errors, how slow") rather than a time series. Handler metrics are found with ListMetrics so
every dimension set the handler used (ErrorType, Reason) shows up without this module knowing them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from rich.table import Table

from handler.constants import SERVICE_DIMENSION, MetricName
from harness.contract import LAMBDA_NAMESPACE, METRICS_NAMESPACE, SQS_NAMESPACE
from harness.outputs import StackOutput
from harness.stack import client_is_local, read_outputs

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

QUERIES_PER_CALL: Final = 500
LAMBDA_STATS: Final = (
    ("Invocations", "Sum"),
    ("Errors", "Sum"),
    ("Throttles", "Sum"),
    ("Duration", "Average"),
    ("Duration", "p50"),
    ("Duration", "p95"),
    ("Duration", "p99"),
    ("Duration", "Maximum"),
    ("ConcurrentExecutions", "Maximum"),
)
SQS_STATS: Final = (
    ("ApproximateNumberOfMessagesVisible", "Maximum"),
    ("ApproximateAgeOfOldestMessage", "Maximum"),
)
# Counts add up over the window; times are read as distribution figures.
HANDLER_STATS: Final[Mapping[str, tuple[str, ...]]] = {
    MetricName.PROCESSED_IMAGES: ("Sum",),
    MetricName.PROCESSING_ERRORS: ("Sum",),
    MetricName.SKIPPED_OBJECTS: ("Sum",),
    MetricName.INPUT_BYTES: ("Sum",),
    MetricName.OUTPUT_BYTES: ("Sum",),
    MetricName.PROCESSING_TIME: ("Average", "p95", "Maximum"),
    MetricName.END_TO_END_LATENCY: ("Average", "p95", "Maximum"),
}
ALWAYS_SHOWN: Final = (MetricName.PROCESSED_IMAGES, MetricName.PROCESSING_ERRORS)


@dataclass(frozen=True, slots=True)
class MetricQuery:
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    label: str


@dataclass(frozen=True, slots=True)
class MetricValue:
    label: str
    namespace: str
    metric: str
    dimensions: dict[str, str]
    stat: str
    value: float | None
    """None when there was no datapoint in the window (or the endpoint cannot compute the statistic)."""
    datapoints: int


@dataclass(frozen=True, slots=True)
class MetricsReport:
    stack_name: str
    start: datetime
    end: datetime
    period_seconds: int
    values: list[MetricValue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def get(self, metric: str, stat: str, namespace: str | None = None, **dimensions: str) -> float | None:
        """The value of the one series that has exactly these dimensions (or the only one if none given)."""
        for item in self.values:
            if item.metric != metric or item.stat != stat:
                continue
            if namespace is not None and item.namespace != namespace:
                continue
            if dimensions and any(item.dimensions.get(k) != v for k, v in dimensions.items()):
                continue
            return item.value
        return None

    def total(self, metric: str, namespace: str = METRICS_NAMESPACE) -> float:
        """Sum over every dimension set of a count metric (ProcessingErrors over all ErrorTypes, say)."""
        return sum(
            item.value or 0.0
            for item in self.values
            if item.metric == metric and item.namespace == namespace and item.stat == "Sum"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "stack_name": self.stack_name,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "period_seconds": self.period_seconds,
            "notes": self.notes,
            "metrics": [asdict(item) for item in self.values],
        }


def window_period(start: datetime, end: datetime) -> int:
    """One period covering the window, a multiple of 60 s as CloudWatch requires."""
    seconds = (end - start).total_seconds()
    if seconds <= 0:
        raise ValueError(f"the window must end after it starts ({start.isoformat()} .. {end.isoformat()})")
    return max(60, math.ceil(seconds / 60) * 60)


def _aggregate(stat: str, values: Sequence[float]) -> float | None:
    if not values:
        return None
    if stat == "Sum" or stat == "SampleCount":
        return float(sum(values))
    if stat == "Minimum":
        return float(min(values))
    if stat == "Average":
        return float(sum(values) / len(values))
    return float(max(values))  # Maximum and percentiles: the worst period is the honest summary


def queue_name(url: str) -> str:
    """The QueueName dimension of AWS/SQS metrics: the last part of the queue's URL."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def _label(metric: str, dimensions: Iterable[tuple[str, str]], stat: str) -> str:
    shown = ",".join(f"{k}={v}" for k, v in dimensions if k != SERVICE_DIMENSION)
    return f"{metric}{'[' + shown + ']' if shown else ''} {stat}"


def pipeline_queries(
    cloudwatch: CloudWatchClient, outputs: Mapping[str, str], service: str
) -> list[MetricQuery]:
    queries: list[MetricQuery] = []
    function = outputs[StackOutput.FUNCTION_NAME]
    for metric, stat in LAMBDA_STATS:
        queries.append(
            MetricQuery(
                LAMBDA_NAMESPACE, metric, (("FunctionName", function),), stat, f"Lambda {metric} {stat}"
            )
        )
    for role, key in (
        ("queue", StackOutput.PROCESSING_QUEUE_URL),
        ("dlq", StackOutput.DEAD_LETTER_QUEUE_URL),
    ):
        queue = queue_name(outputs[key])
        for metric, stat in SQS_STATS:
            queries.append(
                MetricQuery(SQS_NAMESPACE, metric, (("QueueName", queue),), stat, f"{role} {metric}")
            )

    namespace = outputs.get(StackOutput.METRICS_NAMESPACE, METRICS_NAMESPACE)
    dimension_sets: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for always in ALWAYS_SHOWN:
        dimension_sets.setdefault(str(always), set()).add(((SERVICE_DIMENSION, service),))
    paginator = cloudwatch.get_paginator("list_metrics")
    for page in paginator.paginate(
        Namespace=namespace, Dimensions=[{"Name": SERVICE_DIMENSION, "Value": service}]
    ):
        for listed in page["Metrics"]:
            dims = tuple(sorted((d["Name"], d["Value"]) for d in listed.get("Dimensions", [])))
            dimension_sets.setdefault(listed["MetricName"], set()).add(dims)
    for name in sorted(dimension_sets):
        for dims in sorted(dimension_sets[name]):
            for stat in HANDLER_STATS.get(name, ("Sum",)):
                queries.append(MetricQuery(namespace, name, dims, stat, _label(name, dims, stat)))
    return queries


def is_percentile(stat: str) -> bool:
    return stat.startswith("p") and stat[1:].replace(".", "", 1).isdigit()


def get_metric_values(
    cloudwatch: CloudWatchClient,
    queries: Sequence[MetricQuery],
    start: datetime,
    end: datetime,
    period: int,
    *,
    percentiles: bool = True,
    notes: list[str] | None = None,
) -> list[MetricValue]:
    """Percentile statistics go in calls of their own: an endpoint that cannot compute them (moto fails the
    whole call) then costs only those figures, which are reported as missing with a note."""
    plain = [query for query in queries if not is_percentile(query.stat)]
    ranked = [query for query in queries if is_percentile(query.stat)]
    found = {
        id(query): value
        for query, value in zip(plain, _fetch(cloudwatch, plain, start, end, period), strict=True)
    }
    unavailable = "percentile statistics are not available from this endpoint"
    if ranked and percentiles:
        try:
            found.update(
                {
                    id(query): value
                    for query, value in zip(
                        ranked, _fetch(cloudwatch, ranked, start, end, period), strict=True
                    )
                }
            )
        except (ClientError, BotoCoreError, TypeError, ValueError) as exc:
            if notes is not None:
                notes.append(f"{unavailable} ({type(exc).__name__})")
    elif ranked and notes is not None:
        notes.append(f"{unavailable} (not requested)")
    return [found.get(id(query)) or _missing(query) for query in queries]


def _missing(query: MetricQuery) -> MetricValue:
    return MetricValue(
        label=query.label,
        namespace=query.namespace,
        metric=query.metric,
        dimensions=dict(query.dimensions),
        stat=query.stat,
        value=None,
        datapoints=0,
    )


def _fetch(
    cloudwatch: CloudWatchClient,
    queries: Sequence[MetricQuery],
    start: datetime,
    end: datetime,
    period: int,
) -> list[MetricValue]:
    results: list[MetricValue] = []
    for offset in range(0, len(queries), QUERIES_PER_CALL):
        batch = queries[offset : offset + QUERIES_PER_CALL]
        request = [
            {
                "Id": f"m{index}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": query.namespace,
                        "MetricName": query.metric,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in query.dimensions],
                    },
                    "Period": period,
                    "Stat": query.stat,
                },
                "Label": query.label,
                "ReturnData": True,
            }
            for index, query in enumerate(batch)
        ]
        values: dict[str, list[float]] = {f"m{index}": [] for index in range(len(batch))}
        paginator = cloudwatch.get_paginator("get_metric_data")
        for page in paginator.paginate(
            MetricDataQueries=request,  # type: ignore[arg-type]
            StartTime=start,
            EndTime=end,
            ScanBy="TimestampAscending",
        ):
            for result in page["MetricDataResults"]:
                values[result["Id"]].extend(float(v) for v in result.get("Values", []) if v is not None)
        for index, query in enumerate(batch):
            found = values[f"m{index}"]
            results.append(
                MetricValue(
                    label=query.label,
                    namespace=query.namespace,
                    metric=query.metric,
                    dimensions=dict(query.dimensions),
                    stat=query.stat,
                    value=_aggregate(query.stat, found),
                    datapoints=len(found),
                )
            )
    return results


def read_metrics(
    session: boto3.Session,
    stack_name: str,
    *,
    minutes: float = 60.0,
    start: datetime | None = None,
    end: datetime | None = None,
    outputs: Mapping[str, str] | None = None,
    percentiles: bool | None = None,
) -> MetricsReport:
    """Lambda, SQS (queue and DLQ) and handler metrics of `stack_name` over [start, end) (default: 1 h)."""
    # One second past now: a datapoint from this very second still falls inside a window truncated to seconds.
    end = end or datetime.now(UTC) + timedelta(seconds=1)
    start = start or end - timedelta(minutes=minutes)
    period = window_period(start, end)
    if outputs is None:
        outputs = read_outputs(
            session,
            stack_name,
            required=(
                StackOutput.FUNCTION_NAME,
                StackOutput.PROCESSING_QUEUE_URL,
                StackOutput.DEAD_LETTER_QUEUE_URL,
            ),
        )
    service = outputs.get(StackOutput.SERVICE_NAME, stack_name)
    cloudwatch: CloudWatchClient = session.client("cloudwatch")
    if percentiles is None:  # moto answers percentile queries with a server error, retried by botocore
        percentiles = not client_is_local(cloudwatch)
    queries = pipeline_queries(cloudwatch, outputs, service)
    notes: list[str] = []
    values = get_metric_values(cloudwatch, queries, start, end, period, percentiles=percentiles, notes=notes)
    return MetricsReport(
        stack_name=stack_name, start=start, end=end, period_seconds=period, values=values, notes=notes
    )


def _format(value: float | None, metric: str) -> str:
    if value is None:
        return "-"
    text = f"{int(value):,}" if value == int(value) and abs(value) < 1e15 else f"{value:,.1f}"
    if metric in ("Duration", MetricName.PROCESSING_TIME, MetricName.END_TO_END_LATENCY):
        return f"{text} ms"
    if metric == "ApproximateAgeOfOldestMessage":
        return f"{text} s"
    return text


def metrics_table(report: MetricsReport) -> Table:
    table = Table(
        title=f"{report.stack_name}: {report.start:%Y-%m-%d %H:%M} .. {report.end:%H:%M} UTC",
        title_justify="left",
    )
    table.add_column("namespace")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for item in report.values:
        table.add_row(item.namespace, item.label, _format(item.value, item.metric))
    return table
