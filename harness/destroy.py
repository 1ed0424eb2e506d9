"""Delete a stack: stop its function's intake, wait out in-flight work, empty its buckets, delete it.

CloudFormation cannot delete a non-empty bucket, and in a versioned bucket "empty" means no versions and no
delete markers either; deleting only the current objects would leave the stack stuck in DELETE_FAILED. While
the event source mapping is live, a queued or retried record writes renditions into a bucket that was just
emptied, so the mapping is disabled first and the records already handed to the function are given the
function's timeout to finish. If a bucket still refuses deletion (a write that raced the emptying), the
buckets are emptied once more and the delete retried once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.exceptions import ClientError
from rich.console import Console

from handler.errors import error_code
from harness.params import validate_stack_name
from harness.stack import (
    StackError,
    describe_stack,
    events_table,
    failed_events,
    poll_interval,
    wait_for_stack,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

DELETE_BATCH: Final = 1000
MAPPING_TYPE: Final = "AWS::Lambda::EventSourceMapping"
FUNCTION_TYPE: Final = "AWS::Lambda::Function"
BUCKET_TYPE: Final = "AWS::S3::Bucket"
# How long a disabled mapping may take to report Disabled (AWS: seconds; the state passes through Disabling).
DISABLE_TIMEOUT_S: Final = 120.0
# Added to the function timeout: the poller's last receive and the function's final S3 writes.
IN_FLIGHT_GRACE_S: Final = 10.0


@dataclass(frozen=True, slots=True)
class DestroyResult:
    stack_name: str
    existed: bool
    status: str
    emptied: dict[str, int] = field(default_factory=dict)
    """Bucket name -> object versions and delete markers removed (over both passes when there were two)."""
    disabled_mappings: list[str] = field(default_factory=list)
    in_flight_wait_s: float = 0.0
    delete_attempts: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "stack_name": self.stack_name,
            "existed": self.existed,
            "status": self.status,
            "emptied": self.emptied,
            "disabled_mappings": self.disabled_mappings,
            "in_flight_wait_s": round(self.in_flight_wait_s, 1),
            "delete_attempts": self.delete_attempts,
        }


def stack_resources(client: CloudFormationClient, stack_name: str, resource_type: str) -> list[str]:
    """Physical ids of the stack's resources of one type (those that exist)."""
    found: list[str] = []
    for page in client.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            if (
                resource["ResourceType"] == resource_type
                and resource.get("PhysicalResourceId")
                and resource.get("ResourceStatus") != "DELETE_COMPLETE"
            ):
                found.append(resource["PhysicalResourceId"])
    return sorted(found)


def stack_buckets(client: CloudFormationClient, stack_name: str) -> list[str]:
    return stack_resources(client, stack_name, BUCKET_TYPE)


def disable_mappings(
    lambda_client: LambdaClient,
    uuids: list[str],
    *,
    poll_seconds: float,
    timeout_seconds: float = DISABLE_TIMEOUT_S,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[str], list[str]]:
    """Disable each mapping and wait until it reports Disabled; returns (disabled uuids, their queue ARNs).
    A mapping that is already gone is skipped: there is nothing left to stop."""
    disabled: list[str] = []
    queues: list[str] = []
    for uuid in uuids:
        try:
            mapping = lambda_client.update_event_source_mapping(UUID=uuid, Enabled=False)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                continue
            raise
        deadline = time.monotonic() + timeout_seconds
        while mapping.get("State") not in ("Disabled", None):
            if time.monotonic() > deadline:
                raise StackError(
                    f"event source mapping {uuid} still {mapping.get('State')} after {timeout_seconds:.0f} s"
                )
            sleep(poll_seconds)
            mapping = lambda_client.get_event_source_mapping(UUID=uuid)
        disabled.append(uuid)
        source = str(mapping.get("EventSourceArn", ""))
        if source.split(":")[2:3] == ["sqs"]:
            queues.append(source)
    return disabled, queues


def _queue_url(sqs: SQSClient, queue_arn: str) -> str | None:
    *_, account, name = queue_arn.split(":")
    try:
        return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    except ClientError:
        return None  # the queue is gone: nothing can be in flight from it


def in_flight(sqs: SQSClient, queue_urls: list[str]) -> int:
    """Messages received by the function and neither deleted nor returned yet, over the given queues."""
    total = 0
    for url in queue_urls:
        try:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
        except ClientError:
            continue
        total += int(attributes.get("ApproximateNumberOfMessagesNotVisible", "0"))
    return total


def wait_out_in_flight(
    sqs: SQSClient,
    queue_urls: list[str],
    function_timeout_s: float,
    *,
    poll_seconds: float,
    console: Console,
    sleep: Callable[[float], None] = time.sleep,
    grace_seconds: float = IN_FLIGHT_GRACE_S,
) -> float:
    """Wait until no message is in flight, or for the function's timeout (plus a grace): an invocation that
    started before the mapping was disabled ends by then, and a batch item it reported as failed stays
    invisible until its visibility timeout without being worked on. Returns the seconds waited."""
    started = time.monotonic()
    limit = function_timeout_s + grace_seconds
    with console.status("waiting for in-flight records to finish") as status:
        while (count := in_flight(sqs, queue_urls)) > 0:
            waited = time.monotonic() - started
            if waited >= limit:
                console.print(
                    f"{count} record(s) still invisible after {waited:.0f} s (the function timeout has "
                    "passed: they are waiting for their visibility timeout, not being processed)"
                )
                break
            status.update(f"waiting for {count} in-flight record(s) ({waited:.0f}/{limit:.0f} s)")
            sleep(poll_seconds)
    return time.monotonic() - started


def _function_timeout(lambda_client: LambdaClient, names: list[str]) -> float:
    longest = 0.0
    for name in names:
        try:
            longest = max(
                longest, float(lambda_client.get_function_configuration(FunctionName=name)["Timeout"])
            )
        except ClientError:
            continue
    return longest


def empty_bucket(s3: S3Client, bucket: str) -> int:
    """Remove every version and delete marker; returns how many were removed (0 if the bucket is gone)."""
    removed = 0
    try:
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket):
            entries = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            ]
            for start in range(0, len(entries), DELETE_BATCH):
                batch = entries[start : start + DELETE_BATCH]
                response = s3.delete_objects(
                    Bucket=bucket,
                    Delete={"Objects": batch, "Quiet": True},  # type: ignore[typeddict-item]
                )
                errors = response.get("Errors", [])
                if errors:
                    first = errors[0]
                    raise StackError(
                        f"could not delete {len(errors)} object(s) from {bucket}: "
                        f"{first.get('Key')} {first.get('Code')} {first.get('Message')}"
                    )
                removed += len(batch)
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucket":
            return removed
        raise
    return removed


def destroy(
    *,
    session: boto3.Session,
    stack_name: str,
    console: Console | None = None,
    poll_seconds: float | None = None,
    timeout_seconds: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DestroyResult:
    """Stop intake, wait out in-flight work, empty the buckets, delete the stack and wait; a missing stack is
    reported, not an error. A delete that fails on a bucket is retried once after emptying again."""
    console = console or Console(stderr=True)
    validate_stack_name(stack_name)
    client: CloudFormationClient = session.client("cloudformation")
    s3: S3Client = session.client("s3")
    stack = describe_stack(client, stack_name)
    if stack is None:
        console.print(f"stack {stack_name} does not exist in {session.region_name}: nothing to destroy")
        return DestroyResult(stack_name=stack_name, existed=False, status="DOES_NOT_EXIST")
    poll = poll_interval(client, poll_seconds)
    lambda_client: LambdaClient = session.client("lambda")
    sqs: SQSClient = session.client("sqs")
    disabled, queue_arns = disable_mappings(
        lambda_client, stack_resources(client, stack_name, MAPPING_TYPE), poll_seconds=poll, sleep=sleep
    )
    waited = 0.0
    if disabled:
        console.print(f"disabled {len(disabled)} event source mapping(s): no new records reach the function")
        urls = [url for url in (_queue_url(sqs, arn) for arn in queue_arns) if url]
        timeout = _function_timeout(lambda_client, stack_resources(client, stack_name, FUNCTION_TYPE))
        waited = wait_out_in_flight(sqs, urls, timeout, poll_seconds=poll, console=console, sleep=sleep)
    emptied: dict[str, int] = {}
    _empty_all(client, s3, stack_name, emptied, console)
    status, cause = _delete(client, stack_name, poll, timeout_seconds, console)
    attempts = 1
    if status != "DELETE_COMPLETE" and BUCKET_TYPE in cause:
        console.print(
            f"[yellow]delete failed on a bucket ({cause}): emptying again and retrying once[/yellow]"
        )
        _empty_all(client, s3, stack_name, emptied, console)
        status, cause = _delete(client, stack_name, poll, timeout_seconds, console)
        attempts = 2
    if status != "DELETE_COMPLETE":
        raise StackError(f"deleting {stack_name} ended in {status}: {cause}")
    console.print(f"[green]{stack_name}: DELETE_COMPLETE[/green]")
    return DestroyResult(
        stack_name=stack_name,
        existed=True,
        status=status,
        emptied=emptied,
        disabled_mappings=disabled,
        in_flight_wait_s=waited,
        delete_attempts=attempts,
    )


def _empty_all(
    client: CloudFormationClient, s3: S3Client, stack_name: str, emptied: dict[str, int], console: Console
) -> None:
    for bucket in stack_buckets(client, stack_name):
        with console.status(f"emptying s3://{bucket} (all versions and delete markers)"):
            removed = empty_bucket(s3, bucket)
        emptied[bucket] = emptied.get(bucket, 0) + removed
        console.print(f"emptied s3://{bucket}: {removed} version(s) and delete marker(s) removed")


def _delete(
    client: CloudFormationClient, stack_name: str, poll: float, timeout_seconds: float, console: Console
) -> tuple[str, str]:
    """Delete and wait; returns the final status and, on failure, the first failed resource as
    `LogicalId (Type): reason`."""
    started = datetime.now(UTC)
    client.delete_stack(StackName=stack_name)
    status = wait_for_stack(
        client,
        stack_name,
        poll_seconds=poll,
        timeout_seconds=timeout_seconds,
        console=console,
        label=f"deleting {stack_name}",
        gone_is="DELETE_COMPLETE",
    )
    if status == "DELETE_COMPLETE":
        return status, ""
    events = failed_events(client, stack_name, since=started)
    if events:
        console.print(events_table(events))
    first = events[0] if events else None
    cause = (
        f"{first.logical_id} ({first.resource_type}): {first.reason}" if first else "no failed event recorded"
    )
    return status, cause
