"""Structured logs and EMF metrics through Powertools: no PutMetricData call ever leaves the function.

Per-record dimensions (ErrorType, Reason) go out as single-metric EMF lines at once; the per-image figures
(ProcessedImages, ProcessingTime, ...) accumulate in one EMF blob, flushed at the end of the invocation.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from handler.config import Settings
from handler.constants import ERROR_TYPE_DIMENSION, SERVICE_DIMENSION, SKIP_REASON_DIMENSION, MetricName


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is now, so a captured stdout (tests, the local runtime) sees the logs."""

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


_LOGGERS: dict[str, Logger] = {}


def _logger(service: str) -> Logger:
    """One Powertools Logger per service: Powertools keeps one logging.Logger per service name, and a second
    Powertools Logger for it would find it already set up, without a formatter of its own."""
    if service not in _LOGGERS:
        _LOGGERS[service] = Logger(service=service, logger_handler=_StdoutHandler(), use_rfc3339=True)
    return _LOGGERS[service]


class Observability:
    def __init__(self, settings: Settings) -> None:
        self.service = settings.service_name
        self.namespace = settings.metrics_namespace
        self.logger = _logger(self.service)
        self.metrics = Metrics(service=self.service, namespace=self.namespace)
        self._pending = False

    # ------------------------------------------------------------------------------------------ metrics
    def add(self, name: MetricName, value: float, unit: MetricUnit) -> None:
        self.metrics.add_metric(name=str(name), unit=unit, value=value)
        self._pending = True

    def processed(
        self, *, processing_ms: float, latency_ms: float | None, input_bytes: int, output_bytes: int
    ) -> None:
        self.add(MetricName.PROCESSED_IMAGES, 1, MetricUnit.Count)
        self.add(MetricName.PROCESSING_TIME, round(processing_ms, 3), MetricUnit.Milliseconds)
        if latency_ms is not None:
            self.add(MetricName.END_TO_END_LATENCY, round(max(0.0, latency_ms), 3), MetricUnit.Milliseconds)
        self.add(MetricName.INPUT_BYTES, input_bytes, MetricUnit.Bytes)
        self.add(MetricName.OUTPUT_BYTES, output_bytes, MetricUnit.Bytes)

    def deleted(self) -> None:
        """A removal applied: the upload is gone and so are its renditions (the log names them)."""
        self.add(MetricName.PROCESSED_DELETIONS, 1, MetricUnit.Count)

    def error(self, error_type: str) -> None:
        self._single(MetricName.PROCESSING_ERRORS, ERROR_TYPE_DIMENSION, error_type)

    def skipped(self, reason: str) -> None:
        self._single(MetricName.SKIPPED_OBJECTS, SKIP_REASON_DIMENSION, reason)

    def _single(self, name: MetricName, dimension: str, value: str) -> None:
        with single_metric(
            name=str(name),
            unit=MetricUnit.Count,
            value=1,
            namespace=self.namespace,
            default_dimensions={SERVICE_DIMENSION: self.service},
        ) as metric:
            metric.add_dimension(name=dimension, value=value)

    def flush(self) -> None:
        if self._pending:
            self.metrics.flush_metrics()
            self._pending = False

    # ------------------------------------------------------------------------------------------ logs
    def correlate(self, **keys: Any) -> None:
        self.logger.append_keys(**keys)

    def forget(self, *keys: str) -> None:
        self.logger.remove_keys(list(keys))
