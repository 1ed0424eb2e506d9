"""`photopipe stacks list|clean`: the photopipe stacks in a region, found by their project tag, and the
removal of test stacks that a run left behind (an acceptance run killed before its teardown, say).

Only stacks tagged `photopipe:project=photopipe` are ever listed or touched; `clean` removes only those
with the given purpose (acceptance by default) that are older than the given age, after showing them and
asking.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import boto3
from rich.console import Console
from rich.table import Table

from harness.destroy import destroy
from harness.params import InvalidInputError
from harness.tags import PROJECT, PROJECT_TAG, PURPOSE_TAG

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

AGE_PATTERN: Final = re.compile(r"(\d+(?:\.\d+)?)([mhd])")
AGE_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days"}
# A stack in these states is still being worked on by someone: never cleaned.
BUSY_SUFFIX: Final = "_IN_PROGRESS"


@dataclass(frozen=True, slots=True)
class StackSummary:
    name: str
    status: str
    created: datetime
    purpose: str
    tags: dict[str, str]

    def age(self, now: datetime) -> timedelta:
        return now - self.created

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "created": self.created.isoformat(),
            "age_hours": round(self.age(now).total_seconds() / 3600, 2),
            "purpose": self.purpose,
            "tags": self.tags,
        }


def parse_age(text: str) -> timedelta:
    """`30m`, `24h`, `7d`."""
    match = AGE_PATTERN.fullmatch(text.strip())
    if not match:
        raise InvalidInputError(f"age {text!r} is not a number followed by m, h or d (like 30m, 24h, 7d)")
    return timedelta(**{AGE_UNITS[match.group(2)]: float(match.group(1))})


def project_stacks(client: CloudFormationClient) -> list[StackSummary]:
    """Every live stack tagged as this project's, oldest first."""
    found: list[StackSummary] = []
    for page in client.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            tags = {str(tag["Key"]): str(tag.get("Value", "")) for tag in stack.get("Tags", [])}
            if tags.get(PROJECT_TAG) != PROJECT or stack["StackStatus"] == "DELETE_COMPLETE":
                continue
            created = stack["CreationTime"]
            found.append(
                StackSummary(
                    name=stack["StackName"],
                    status=stack["StackStatus"],
                    created=created if created.tzinfo else created.replace(tzinfo=UTC),
                    purpose=tags.get(PURPOSE_TAG, ""),
                    tags=tags,
                )
            )
    return sorted(found, key=lambda summary: summary.created)


def stale(
    stacks: list[StackSummary], *, purpose: str, older_than: timedelta, now: datetime
) -> list[StackSummary]:
    return [
        stack
        for stack in stacks
        if stack.purpose == purpose
        and stack.age(now) >= older_than
        and not stack.status.endswith(BUSY_SUFFIX)
    ]


def stacks_table(stacks: list[StackSummary], now: datetime, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("stack", "status", "purpose", "age"):
        table.add_column(column)
    for stack in stacks:
        hours = stack.age(now).total_seconds() / 3600
        table.add_row(stack.name, stack.status, stack.purpose, f"{hours:.1f} h")
    return table


def clean(
    session: boto3.Session,
    *,
    purpose: str,
    older_than: timedelta,
    console: Console,
    confirm: Callable[[str], bool],
    now: datetime | None = None,
) -> list[str]:
    """Destroy each stale stack after `confirm` agrees; returns the names destroyed."""
    now = now or datetime.now(UTC)
    candidates = stale(
        project_stacks(session.client("cloudformation")), purpose=purpose, older_than=older_than, now=now
    )
    if not candidates:
        console.print(f"no {purpose} stacks older than {older_than} in {session.region_name}")
        return []
    console.print(stacks_table(candidates, now, f"{purpose} stacks older than {older_than}"))
    if not confirm(f"destroy these {len(candidates)} stack(s) and every object version in their buckets?"):
        console.print("nothing destroyed")
        return []
    destroyed: list[str] = []
    for stack in candidates:
        destroy(session=session, stack_name=stack.name, console=console)
        destroyed.append(stack.name)
    return destroyed
