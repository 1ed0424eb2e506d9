"""Delete a stack, first emptying its buckets of every object version and delete marker.

CloudFormation cannot delete a non-empty bucket, and in a versioned bucket "empty" means no versions and no
delete markers either; deleting only the current objects would leave the stack stuck in DELETE_FAILED.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.exceptions import ClientError
from rich.console import Console

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
    from mypy_boto3_s3 import S3Client

DELETE_BATCH: Final = 1000


@dataclass(frozen=True, slots=True)
class DestroyResult:
    stack_name: str
    existed: bool
    status: str
    emptied: dict[str, int] = field(default_factory=dict)
    """Bucket name -> object versions and delete markers removed."""

    def to_json(self) -> dict[str, Any]:
        return {
            "stack_name": self.stack_name,
            "existed": self.existed,
            "status": self.status,
            "emptied": self.emptied,
        }


def stack_buckets(client: CloudFormationClient, stack_name: str) -> list[str]:
    buckets: list[str] = []
    for page in client.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceType"] == "AWS::S3::Bucket" and resource.get("PhysicalResourceId"):
                buckets.append(resource["PhysicalResourceId"])
    return sorted(buckets)


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
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
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
) -> DestroyResult:
    """Empty the stack's buckets, delete the stack and wait; a missing stack is reported, not an error."""
    console = console or Console(stderr=True)
    validate_stack_name(stack_name)
    client: CloudFormationClient = session.client("cloudformation")
    s3: S3Client = session.client("s3")
    stack = describe_stack(client, stack_name)
    if stack is None:
        console.print(f"stack {stack_name} does not exist in {session.region_name}: nothing to destroy")
        return DestroyResult(stack_name=stack_name, existed=False, status="DOES_NOT_EXIST")
    emptied: dict[str, int] = {}
    for bucket in stack_buckets(client, stack_name):
        with console.status(f"emptying s3://{bucket} (all versions and delete markers)"):
            emptied[bucket] = empty_bucket(s3, bucket)
        console.print(f"emptied s3://{bucket}: {emptied[bucket]} version(s) and delete marker(s) removed")
    started = datetime.now(UTC)
    client.delete_stack(StackName=stack_name)
    status = wait_for_stack(
        client,
        stack_name,
        poll_seconds=poll_interval(client, poll_seconds),
        timeout_seconds=timeout_seconds,
        console=console,
        label=f"deleting {stack_name}",
        gone_is="DELETE_COMPLETE",
    )
    if status != "DELETE_COMPLETE":
        events = failed_events(client, stack_name, since=started)
        if events:
            console.print(events_table(events))
        cause = f"{events[0].logical_id}: {events[0].reason}" if events else "no failed event recorded"
        raise StackError(f"deleting {stack_name} ended in {status}: {cause}")
    console.print(f"[green]{stack_name}: DELETE_COMPLETE[/green]")
    return DestroyResult(stack_name=stack_name, existed=True, status=status, emptied=emptied)
