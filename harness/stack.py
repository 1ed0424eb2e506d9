"""Reading a stack back: status, outputs and the events that explain a failure.

Everything downstream (CLI, local stack, load tests) needs the stack's outputs by name; a missing stack or a
missing output is refused here with the name, so a caller never fails later on a KeyError.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError
from rich.console import Console
from rich.table import Table

from harness.outputs import StackOutput

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

SUCCESS_STATUSES: Final = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
FAILED_STATUSES: Final = frozenset(
    {
        "CREATE_FAILED",
        "ROLLBACK_COMPLETE",
        "ROLLBACK_FAILED",
        "DELETE_FAILED",
        "UPDATE_FAILED",
        "UPDATE_ROLLBACK_COMPLETE",
        "UPDATE_ROLLBACK_FAILED",
        "IMPORT_ROLLBACK_COMPLETE",
        "IMPORT_ROLLBACK_FAILED",
    }
)
# A stack whose creation failed cannot be updated; it must be deleted before the next create.
CLOCK_SKEW: Final = timedelta(seconds=30)
DEAD_STATUSES: Final = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"})


LOCAL_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


def is_local_endpoint(endpoint: str | None) -> bool:
    """True for an emulator on this machine (the embedded local stack): no confirmation, fast polling."""
    return endpoint is not None and (urlparse(endpoint).hostname or "") in LOCAL_HOSTS


def client_is_local(client: Any) -> bool:
    return is_local_endpoint(str(client.meta.endpoint_url))


def poll_interval(client: Any, requested: float | None) -> float:
    """CloudFormation on AWS changes state in seconds; an emulator answers at once."""
    if requested is not None:
        return requested
    return 0.2 if client_is_local(client) else 5.0


class StackError(Exception):
    """The stack is missing, busy, failed, or lacks an output; the message names which."""


@dataclass(frozen=True, slots=True)
class FailedEvent:
    logical_id: str
    resource_type: str
    status: str
    reason: str
    timestamp: datetime


def cloudformation(session: boto3.Session) -> CloudFormationClient:
    return session.client("cloudformation")


def _is_missing(error: ClientError) -> bool:
    message = error.response.get("Error", {}).get("Message", "")
    return "does not exist" in message


def describe_stack(client: CloudFormationClient, stack_name: str) -> dict[str, Any] | None:
    """The stack's description, or None when there is no live stack of that name."""
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if _is_missing(exc):
            return None
        raise
    if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
        return None
    return dict(stacks[0])


def outputs_of(stack: dict[str, Any]) -> dict[str, str]:
    return {item["OutputKey"]: item.get("OutputValue", "") for item in stack.get("Outputs", []) or []}


def read_outputs(
    session: boto3.Session, stack_name: str, *, required: Iterable[str] = tuple(StackOutput)
) -> dict[str, str]:
    """The stack's outputs; refuses a missing stack or one lacking any of `required` (default: all)."""
    stack = describe_stack(cloudformation(session), stack_name)
    if stack is None:
        raise StackError(f"stack {stack_name!r} does not exist in region {session.region_name}")
    outputs = outputs_of(stack)
    missing = [key for key in required if key not in outputs]
    if missing:
        raise StackError(
            f"stack {stack_name!r} ({stack['StackStatus']}) lacks output(s) {', '.join(missing)}; "
            "was it deployed from template/template.json?"
        )
    return outputs


def failed_events(
    client: CloudFormationClient, stack_name: str, since: datetime | None = None
) -> list[FailedEvent]:
    """Events with a *_FAILED status (oldest first): the first one is usually the cause of the rest."""
    events: list[FailedEvent] = []
    # Our clock and CloudFormation's may disagree by a few seconds; events are listed newest first.
    cutoff = since - CLOCK_SKEW if since is not None else None
    paginator = client.get_paginator("describe_stack_events")
    try:
        for page in paginator.paginate(StackName=stack_name):
            older = [
                event for event in page["StackEvents"] if cutoff is not None and event["Timestamp"] < cutoff
            ]
            for event in page["StackEvents"]:
                if cutoff is not None and event["Timestamp"] < cutoff:
                    continue
                if event.get("ResourceStatus", "").endswith("_FAILED"):
                    events.append(
                        FailedEvent(
                            logical_id=event.get("LogicalResourceId", ""),
                            resource_type=event.get("ResourceType", ""),
                            status=event.get("ResourceStatus", ""),
                            reason=event.get("ResourceStatusReason", ""),
                            timestamp=event["Timestamp"],
                        )
                    )
            if older:
                break
    except ClientError as exc:
        if not _is_missing(exc):
            raise
    return sorted(events, key=lambda event: event.timestamp)


def events_table(events: Sequence[FailedEvent]) -> Table:
    table = Table(title="failed resources", title_justify="left")
    for column in ("resource", "type", "status", "reason"):
        table.add_column(column, overflow="fold")
    for event in events:
        table.add_row(event.logical_id, event.resource_type, event.status, event.reason)
    return table


def outputs_table(outputs: dict[str, str], title: str = "outputs") -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("output")
    table.add_column("value", overflow="fold")
    for key in sorted(outputs):
        table.add_row(key, outputs[key])
    return table


def wait_for_stack(
    client: CloudFormationClient,
    stack_name: str,
    *,
    poll_seconds: float,
    timeout_seconds: float,
    console: Console,
    label: str,
    gone_is: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Poll until the stack leaves *_IN_PROGRESS; `gone_is` is the status reported when it disappears."""
    deadline = time.monotonic() + timeout_seconds
    with console.status(label) as status:
        while True:
            stack = describe_stack(client, stack_name)
            if stack is None:
                if gone_is is not None:
                    return gone_is
                raise StackError(f"stack {stack_name!r} disappeared while waiting")
            current = str(stack["StackStatus"])
            if not current.endswith("_IN_PROGRESS"):
                return current
            if time.monotonic() > deadline:
                raise StackError(f"stack {stack_name!r} still {current} after {timeout_seconds:.0f} s")
            status.update(f"{label}: {current}")
            sleep(poll_seconds)
