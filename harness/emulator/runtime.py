"""The local Lambda service: one poller per event source mapping feeding SQS batches to worker processes.

Semantics kept from Lambda's SQS pollers: batches of up to BatchSize gathered for at most the batching window,
at most MaximumConcurrency (and ReservedConcurrentExecutions) invocations in flight, warm workers reused,
a timed-out worker killed and replaced, `batchItemFailures` honoured (only when the mapping reports them;
an invalid response fails the whole batch), nothing deleted when the invocation fails. Visibility timeouts,
receive counts and the dead-letter redrive are moto's SQS, untouched.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import boto3

from harness.contract import LAMBDA_NAMESPACE
from harness.emulator.telemetry import (
    LogLine,
    Shipper,
    lambda_metric_data,
    throttle_metric_data,
)
from harness.emulator.worker import Invocation, Worker

LOG: Final = logging.getLogger(__name__)
RECEIVE_WAIT_S: Final = 1  # short long-polls so a stop takes effect within a second
SQS_RECEIVE_LIMIT: Final = 10
CONFIG_POLL_S: Final = 2.0


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    arn: str
    handler: str
    runtime: str
    memory_mb: int
    timeout_s: int
    environment: dict[str, str]
    reserved_concurrency: int | None
    log_group: str
    log_format: str
    log_level: str
    revision: str


@dataclass(frozen=True)
class MappingSpec:
    uuid: str
    queue_arn: str
    queue_url: str
    batch_size: int
    batching_window_s: int
    maximum_concurrency: int
    report_batch_item_failures: bool
    enabled: bool


def configuration_fingerprint(config: Mapping[str, Any]) -> str:
    """What a worker depends on. Not RevisionId/LastModified: moto (5.2) bumps neither on
    UpdateFunctionConfiguration."""
    return json.dumps(
        [
            config.get("Environment", {}).get("Variables", {}),
            config.get("Timeout"),
            config.get("MemorySize"),
            config.get("Handler"),
            config.get("CodeSha256"),
            config.get("RevisionId"),
        ],
        sort_keys=True,
    )


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of Lambda's SQS event, from a ReceiveMessage result (field names as Lambda spells them)."""
    attributes: dict[str, dict[str, Any]] = {}
    for name, value in message.get("MessageAttributes", {}).items():
        attribute: dict[str, Any] = {
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        if "StringValue" in value:
            attribute["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            import base64

            attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        attributes[name] = attribute
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": attributes,
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(
    invocation: Invocation, message_ids: list[str], report_batch_item_failures: bool
) -> set[str]:
    """The messages to leave in the queue after an invocation, as Lambda decides."""
    if not invocation.ok:
        return set(message_ids)
    if not report_batch_item_failures or not isinstance(invocation.result, dict):
        return set()
    failures = invocation.result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return set(message_ids)
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in message_ids:
            return set(message_ids)  # Lambda treats a malformed response as a failure of the whole batch
        failed.add(str(identifier))
    return failed


class WorkerPool:
    """Warm workers, started on demand (cold starts) up to the concurrency cap; a configuration change
    retires the old generation as its workers come back, as Lambda does after UpdateFunctionConfiguration."""

    def __init__(self, python: Path, environment: dict[str, str]) -> None:
        self.python = python
        self.environment = environment
        self.generation = 0
        self._idle: list[Worker] = []
        self._all: list[Worker] = []
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0

    def reconfigure(self, environment: dict[str, str]) -> None:
        with self._lock:
            self.environment = environment
            self.generation += 1
            stale, self._idle = self._idle, []
        for worker in stale:
            self._retire(worker)

    def acquire(self, limit: int | None = None) -> Worker | None:
        """A warm worker, or a new one (a cold start); None when `limit` invocations are already running."""
        with self._lock:
            if limit is not None and self.in_flight >= limit:
                return None
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            while self._idle:
                worker = self._idle.pop()
                if worker.alive and worker.generation == self.generation:
                    return worker
                self._all.remove(worker)
            worker = Worker(self.python, self.environment, self.generation)
            self._all.append(worker)
        worker.start()
        return worker

    def release(self, worker: Worker) -> None:
        with self._lock:
            self.in_flight -= 1
            if worker.alive and worker.generation == self.generation:
                self._idle.append(worker)
                return
        self._retire(worker)

    def _retire(self, worker: Worker) -> None:
        worker.stop()
        with self._lock, contextlib.suppress(ValueError):
            self._all.remove(worker)

    def workers(self) -> list[Worker]:
        with self._lock:
            return list(self._all)

    def stop(self) -> None:
        with self._lock:
            workers, self._all, self._idle = list(self._all), [], []
        for worker in workers:
            worker.stop()


class LambdaRuntime:
    def __init__(
        self,
        session: boto3.Session,
        function: FunctionSpec,
        mappings: list[MappingSpec],
        *,
        python: Path,
        base_environment: Mapping[str, str],
        overrides: Mapping[str, str] | None = None,
        on_log_line: Callable[[str], None] | None = None,
    ) -> None:
        """`on_log_line` sees each line the function printed, after it is shipped to CloudWatch Logs."""
        self.session = session
        self.on_log_line = on_log_line
        self.function = function
        self.mappings = [m for m in mappings if m.enabled]
        self.base_environment = dict(base_environment)
        self.overrides = dict(overrides or {})
        self.region = str(session.region_name)
        self.pool = WorkerPool(python, self._environment(function))
        self.shipper = Shipper(session, function.log_group)
        self._stop = threading.Event()
        # Mappings disabled since the start (UpdateEventSourceMapping Enabled=false, as destroy does first):
        # their pollers stop receiving, so records queued afterwards (the removals of a bucket being emptied)
        # wait in the queue as they would on AWS.
        self._disabled: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._executors: list[ThreadPoolExecutor] = []
        self.invocations = 0
        self.errors = 0
        self.timeouts = 0
        self.throttles = 0
        self.failures: list[str] = []
        self.receives = (
            0  # ReceiveMessage calls completed (moto takes a queue's visibility at a call's start)
        )

    def _environment(self, function: FunctionSpec) -> dict[str, str]:
        return {
            **self.base_environment,
            **function.environment,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group,
            "AWS_LAMBDA_LOG_FORMAT": function.log_format,
            **({"AWS_LAMBDA_LOG_LEVEL": function.log_level} if function.log_level else {}),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
            "_HANDLER": function.handler,
            "_PHOTOPIPE_FUNCTION_ARN": function.arn,
            **self.overrides,
        }

    def concurrency(self, mapping: MappingSpec) -> int:
        """In-flight invocations the mapping's poller allows (its MaximumConcurrency). A reserved concurrency
        below it throttles the surplus, as on Lambda (see _invoke)."""
        return max(1, mapping.maximum_concurrency)

    def start(self) -> None:
        self.shipper.start()
        for mapping in self.mappings:
            slots = self.concurrency(mapping)
            executor = ThreadPoolExecutor(max_workers=slots, thread_name_prefix=f"invoke-{mapping.uuid[:8]}")
            self._executors.append(executor)
            thread = threading.Thread(
                target=self._poll, args=(mapping, executor, threading.Semaphore(slots)), daemon=True
            )
            thread.name = f"poller-{mapping.uuid[:8]}"
            self._threads.append(thread)
        monitor = threading.Thread(target=self._watch_configuration, name="config-watch", daemon=True)
        self._threads.append(monitor)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop polling, let in-flight invocations finish (bounded by the function timeout), stop workers."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=RECEIVE_WAIT_S + 5)
        for executor in self._executors:
            executor.shutdown(wait=True, cancel_futures=True)
        self.pool.stop()
        self.shipper.stop()

    def _watch_configuration(self) -> None:
        client = self.session.client("lambda")
        while not self._stop.wait(CONFIG_POLL_S):
            self._watch_mapping_states(client)
            try:
                config = client.get_function_configuration(FunctionName=self.function.name)
            except Exception:  # the server stopping, or busy: the next poll asks again
                LOG.debug("reading the configuration failed; the running one is kept", exc_info=True)
                continue
            revision = configuration_fingerprint(config)
            if revision == self.function.revision:
                continue
            self.function = FunctionSpec(
                **{
                    **self.function.__dict__,
                    "environment": dict(config.get("Environment", {}).get("Variables", {})),
                    "timeout_s": int(config["Timeout"]),
                    "memory_mb": int(config["MemorySize"]),
                    "handler": str(config.get("Handler", self.function.handler)),
                    "revision": revision,
                }
            )
            self.pool.reconfigure(self._environment(self.function))

    def _watch_mapping_states(self, client: Any) -> None:
        for mapping in self.mappings:
            self._is_disabled(client, mapping)

    def _is_disabled(self, client: Any, mapping: MappingSpec) -> bool:
        """Read the mapping's state now (an error keeps what was known) and remember it."""
        try:
            state = client.get_event_source_mapping(UUID=mapping.uuid).get("State")
        except Exception:
            LOG.debug("reading mapping %s failed; its last state is kept", mapping.uuid, exc_info=True)
            return mapping.uuid in self._disabled
        if state in ("Disabled", "Disabling"):
            self._disabled.add(mapping.uuid)
        else:
            self._disabled.discard(mapping.uuid)
        return mapping.uuid in self._disabled

    @staticmethod
    def _hand_back(sqs: Any, mapping: MappingSpec, messages: list[dict[str, Any]]) -> None:
        """Make messages received by a mapping that was disabled meanwhile visible again, unprocessed."""
        for start in range(0, len(messages), SQS_RECEIVE_LIMIT):
            chunk = messages[start : start + SQS_RECEIVE_LIMIT]
            sqs.change_message_visibility_batch(
                QueueUrl=mapping.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for n, m in enumerate(chunk)
                ],
            )

    def _receive(self, sqs: Any, mapping: MappingSpec) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        window_end: float | None = None
        while len(messages) < mapping.batch_size and not self._stop.is_set():
            if window_end is not None and time.monotonic() >= window_end:
                break
            wait = RECEIVE_WAIT_S
            if window_end is not None:
                wait = max(0, min(RECEIVE_WAIT_S, int(window_end - time.monotonic())))
            answer = sqs.receive_message(
                QueueUrl=mapping.queue_url,
                MaxNumberOfMessages=min(SQS_RECEIVE_LIMIT, mapping.batch_size - len(messages)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            self.receives += 1
            received = answer.get("Messages", [])
            messages += received
            if mapping.batching_window_s == 0:
                if messages:
                    break
                if not received:
                    return messages
            elif messages and window_end is None:
                window_end = time.monotonic() + mapping.batching_window_s
            elif not messages:
                return messages
        return messages

    def _poll(self, mapping: MappingSpec, executor: ThreadPoolExecutor, slots: threading.Semaphore) -> None:
        sqs = self.session.client("sqs")
        lambda_client = self.session.client("lambda")
        while not self._stop.is_set():
            if mapping.uuid in self._disabled:
                self._stop.wait(0.5)
                continue
            if not slots.acquire(timeout=0.5):
                continue
            try:
                messages = self._receive(sqs, mapping)
            except Exception:  # as Lambda's poller: a failed receive is tried again, the messages stay queued
                LOG.debug("receive from %s failed; trying again in 1 s", mapping.queue_url, exc_info=True)
                slots.release()
                self._stop.wait(1.0)
                continue
            if not messages:
                slots.release()
                continue
            if self._is_disabled(lambda_client, mapping):  # disabled while the receive waited
                try:
                    self._hand_back(sqs, mapping, messages)
                except Exception:  # their visibility timeout hands them back all the same
                    LOG.warning("could not hand back %d record(s) of a disabled mapping", len(messages))
                slots.release()
                continue

            def run(batch: list[dict[str, Any]] = messages) -> None:
                try:
                    self._invoke(sqs, mapping, batch)
                except Exception as exc:  # the batch stays in the queue; visible in `failures` and the log
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    LOG.exception("invoking %s with %d record(s) failed", self.function.name, len(batch))
                finally:
                    slots.release()

            executor.submit(run)

    def _invoke(self, sqs: Any, mapping: MappingSpec, messages: list[dict[str, Any]]) -> None:
        function = self.function
        event = {"Records": [sqs_record(m, mapping.queue_arn, self.region) for m in messages]}
        worker = self.pool.acquire(limit=function.reserved_concurrency)
        if worker is None:
            # Throttled: Lambda hands the batch back, so the messages reappear after the visibility timeout
            # and the receive counts toward the dead-letter queue's maxReceiveCount.
            self.throttles += 1
            self.shipper.metrics(
                LAMBDA_NAMESPACE, [throttle_metric_data(function.name, when=datetime.now(UTC))]
            )
            return
        concurrent = self.pool.in_flight
        try:
            if worker.init_error is not None:
                invocation = Invocation(
                    request_id="init", ok=False, error=worker.init_error, duration_ms=0.0, init_ms=0.0
                )
            else:
                invocation = worker.invoke(event, timeout_s=function.timeout_s, function_arn=function.arn)
        finally:
            self.pool.release(worker)
        self.invocations += 1
        self.errors += 0 if invocation.ok else 1
        self.timeouts += 1 if invocation.timed_out else 0
        ids = [m["MessageId"] for m in messages]
        keep = failed_message_ids(invocation, ids, mapping.report_batch_item_failures)
        done = [m for m in messages if m["MessageId"] not in keep]
        for start in range(0, len(done), SQS_RECEIVE_LIMIT):
            chunk = done[start : start + SQS_RECEIVE_LIMIT]
            sqs.delete_message_batch(
                QueueUrl=mapping.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        self._ship(worker, function, invocation, concurrent)

    def _ship(self, worker: Worker, function: FunctionSpec, invocation: Invocation, concurrent: int) -> None:
        now = datetime.now(UTC)
        stamp = int(now.timestamp() * 1000)
        request_id = invocation.request_id
        start_ms = stamp - int(invocation.duration_ms)
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {invocation.duration_ms:.2f} ms\t"
            f"Billed Duration: {int(invocation.duration_ms) + 1} ms\tMemory Size: {function.memory_mb} MB"
        )
        if invocation.init_ms is not None:
            report += f"\tInit Duration: {invocation.init_ms:.2f} ms"
        if invocation.timed_out:
            report += "\tStatus: timeout"
        lines = [
            LogLine(start_ms, f"START RequestId: {request_id} Version: $LATEST"),
            *invocation.lines,
            LogLine(stamp, f"END RequestId: {request_id}"),
            LogLine(stamp, report),
        ]
        self.shipper.logs_and_metrics(worker.log_stream, lines)
        if self.on_log_line is not None:
            for line in invocation.lines:
                self.on_log_line(line.message)
        self.shipper.metrics(
            LAMBDA_NAMESPACE,
            lambda_metric_data(
                function.name,
                duration_ms=invocation.duration_ms,
                error=not invocation.ok,
                concurrent=concurrent,
                when=now,
            ),
        )
