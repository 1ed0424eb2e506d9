"""Move the dead-letter queue's messages back to the processing queue.

SQS's own StartMessageMoveTask is preferred (server side, rate-limited, keeps attributes); endpoints
without it (moto) get a receive/send/delete loop that deletes a message only after its copy was accepted.
The loop moves at most the number of messages the DLQ held when it started, so messages that fail again and
return to the DLQ while it runs are not moved round in circles.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import boto3
from botocore.exceptions import ClientError
from rich.console import Console

from handler.errors import error_code
from harness.outputs import StackOutput
from harness.stack import client_is_local, read_outputs

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

Method = Literal["StartMessageMoveTask", "receive-send-delete"]
UNSUPPORTED_CODES: Final = frozenset(
    {
        "UnsupportedOperation",
        "AWS.SimpleQueueService.UnsupportedOperation",
        "InvalidAction",
        "NotImplemented",
        "501",
        "500",
    }
)
BATCH: Final = 10


@dataclass(frozen=True, slots=True)
class RedriveResult:
    moved: int
    method: Method
    source: str
    destination: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _approximate_count(sqs: SQSClient, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"].get("ApproximateNumberOfMessages", "0"))


def _move_task(
    sqs: SQSClient,
    source_arn: str,
    destination_arn: str,
    poll_seconds: float,
    timeout_seconds: float,
    sleep: Callable[[float], None],
) -> int | None:
    """Moved count via StartMessageMoveTask, or None if the endpoint does not implement it."""
    try:
        task = sqs.start_message_move_task(SourceArn=source_arn, DestinationArn=destination_arn)
    except NotImplementedError:  # moto in-process (mock_aws) raises instead of answering
        return None
    except ClientError as exc:
        code = error_code(exc) or ""
        if code in UNSUPPORTED_CODES or "not been implemented" in str(exc) or "not implemented" in str(exc):
            return None
        raise
    handle = task["TaskHandle"]
    deadline = time.monotonic() + timeout_seconds
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=10)["Results"]
        current = next(
            (item for item in tasks if item.get("TaskHandle") == handle), tasks[0] if tasks else None
        )
        if current is not None and current.get("Status") in ("COMPLETED", "FAILED", "CANCELLED"):
            if current.get("Status") != "COMPLETED":
                raise RuntimeError(
                    f"message move task {current.get('Status')}: {current.get('FailureReason', '')}"
                )
            return int(current.get("ApproximateNumberOfMessagesMoved", 0))
        if time.monotonic() > deadline:
            raise TimeoutError(f"message move task still running after {timeout_seconds:.0f} s")
        sleep(poll_seconds)


def _copy_attributes(message: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = {}
    for name, attribute in message.get("MessageAttributes", {}).items():
        data_type = attribute["DataType"]
        if "StringValue" in attribute:
            copied[name] = {"DataType": data_type, "StringValue": attribute["StringValue"]}
        elif "BinaryValue" in attribute:
            copied[name] = {"DataType": data_type, "BinaryValue": attribute["BinaryValue"]}
    return copied


def move_messages(
    sqs: SQSClient,
    source_url: str,
    destination_url: str,
    *,
    limit: int,
    visibility_timeout: int = 60,
    wait_seconds: int = 1,
    empty_receives: int = 2,
) -> int:
    """Receive from source, send to destination, delete from source only what was sent; at most `limit`."""
    moved = 0
    empty = 0
    while moved < limit and empty < empty_receives:
        received = sqs.receive_message(
            QueueUrl=source_url,
            MaxNumberOfMessages=min(BATCH, limit - moved),
            VisibilityTimeout=visibility_timeout,
            WaitTimeSeconds=wait_seconds,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            empty += 1
            continue
        empty = 0
        entries = [
            {
                "Id": str(index),
                "MessageBody": message["Body"],
                "MessageAttributes": _copy_attributes(dict(message)),
            }
            for index, message in enumerate(received)
        ]
        sent = sqs.send_message_batch(QueueUrl=destination_url, Entries=entries)  # type: ignore[arg-type]
        ok = {item["Id"] for item in sent.get("Successful", [])}
        to_delete = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(received)
            if str(index) in ok
        ]
        if to_delete:
            sqs.delete_message_batch(QueueUrl=source_url, Entries=to_delete)  # type: ignore[arg-type]
        moved += len(to_delete)
        failed = sent.get("Failed", [])
        if failed:
            raise RuntimeError(
                f"{len(failed)} message(s) could not be sent to {destination_url}: "
                f"{failed[0].get('Message', '')} ({moved} moved; the rest stay in the source queue)"
            )
    return moved


def redrive(
    session: boto3.Session,
    *,
    source_url: str,
    destination_url: str,
    source_arn: str | None = None,
    destination_arn: str | None = None,
    use_move_task: bool | None = None,
    console: Console | None = None,
    poll_seconds: float = 2.0,
    timeout_seconds: float = 900.0,
    sleep: Callable[[float], None] = time.sleep,
) -> RedriveResult:
    console = console or Console(stderr=True)
    sqs: SQSClient = session.client("sqs")
    if use_move_task is None:  # moto has no StartMessageMoveTask and answers it with retried server errors
        use_move_task = not client_is_local(sqs)
    if use_move_task and source_arn and destination_arn:
        with console.status("moving messages with StartMessageMoveTask"):
            moved = _move_task(sqs, source_arn, destination_arn, poll_seconds, timeout_seconds, sleep)
        if moved is not None:
            return RedriveResult(moved, "StartMessageMoveTask", source_url, destination_url)
        console.print("StartMessageMoveTask is not supported by this endpoint: moving messages one by one")
    limit = _approximate_count(sqs, source_url)
    with console.status(f"moving up to {limit} message(s)"):
        moved = move_messages(sqs, source_url, destination_url, limit=limit)
    return RedriveResult(moved, "receive-send-delete", source_url, destination_url)


def redrive_stack(
    session: boto3.Session,
    stack_name: str,
    *,
    console: Console | None = None,
    use_move_task: bool | None = None,
) -> RedriveResult:
    """Redrive the stack's dead-letter queue into its processing queue (names from the stack outputs)."""
    outputs = read_outputs(
        session,
        stack_name,
        required=(
            StackOutput.DEAD_LETTER_QUEUE_URL,
            StackOutput.DEAD_LETTER_QUEUE_ARN,
            StackOutput.PROCESSING_QUEUE_URL,
            StackOutput.PROCESSING_QUEUE_ARN,
        ),
    )
    return redrive(
        session,
        source_url=outputs[StackOutput.DEAD_LETTER_QUEUE_URL],
        destination_url=outputs[StackOutput.PROCESSING_QUEUE_URL],
        source_arn=outputs[StackOutput.DEAD_LETTER_QUEUE_ARN],
        destination_arn=outputs[StackOutput.PROCESSING_QUEUE_ARN],
        use_move_task=use_move_task,
        console=console,
    )
