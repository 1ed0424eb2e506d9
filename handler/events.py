"""Parsing of what invokes the function: SQS batches of S3 notifications, or S3 notifications directly.

Pure functions over JSON-shaped data. Anything S3 would never send raises PermanentError(MalformedEvent) for
that one message, so a broken relay cannot take the rest of a batch down.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from handler.errors import ErrorType, PermanentError

TEST_EVENT = "s3:TestEvent"


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    """One S3 record, with the key already decoded (S3 URL-encodes keys and writes spaces as '+')."""

    bucket: str
    key: str
    version_id: str | None
    size: int | None
    etag: str | None
    sequencer: str | None
    event_name: str
    event_time: datetime | None

    @property
    def is_create(self) -> bool:
        return self.event_name.startswith("ObjectCreated:")


@dataclass(frozen=True, slots=True)
class TestEvent:
    """What S3 sends once when a notification configuration is saved; it names no object."""

    __test__ = False  # not a pytest test class, whatever its name says
    bucket: str | None


S3Notice = ObjectEvent | TestEvent


@dataclass(frozen=True, slots=True)
class SqsMessage:
    message_id: str
    body: str
    receive_count: int


def _malformed(reason: str) -> PermanentError:
    return PermanentError(ErrorType.MALFORMED_EVENT, reason)


def is_sqs_event(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, Mapping) else None
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" for r in records)
    )


def parse_sqs_event(event: Mapping[str, Any]) -> list[SqsMessage]:
    """The messages of an SQS batch; the receive count drives the last-attempt notification."""
    messages = []
    for record in event.get("Records", []):
        attributes = record.get("attributes") or {}
        try:
            count = int(attributes.get("ApproximateReceiveCount", "1"))
        except (TypeError, ValueError):
            count = 1
        messages.append(SqsMessage(str(record["messageId"]), str(record.get("body", "")), count))
    return messages


def parse_body(body: str) -> list[S3Notice]:
    """An SQS message body: an S3 notification, possibly wrapped in an SNS envelope (S3 -> SNS -> SQS)."""
    try:
        document = json.loads(body)
    except ValueError:
        raise _malformed("the message body is not JSON") from None
    if isinstance(document, Mapping) and document.get("Type") == "Notification" and "Message" in document:
        inner = document["Message"]
        if not isinstance(inner, str):
            raise _malformed("the SNS envelope's Message is not a string")
        try:
            document = json.loads(inner)
        except ValueError:
            raise _malformed("the SNS envelope's Message is not JSON") from None
    return parse_s3_event(document)


def parse_s3_event(document: Any) -> list[S3Notice]:
    if not isinstance(document, Mapping):
        raise _malformed("the notification is not a JSON object")
    if document.get("Event") == TEST_EVENT:
        bucket = document.get("Bucket")
        return [TestEvent(bucket if isinstance(bucket, str) else None)]
    records = document.get("Records")
    if not isinstance(records, list) or not records:
        raise _malformed("the notification has no Records list")
    return [_parse_record(record) for record in records]


def _parse_record(record: Any) -> ObjectEvent:
    if not isinstance(record, Mapping):
        raise _malformed("a record is not a JSON object")
    s3 = record.get("s3")
    if not isinstance(s3, Mapping):
        raise _malformed("a record has no s3 object")
    bucket = s3.get("bucket")
    obj = s3.get("object")
    if not isinstance(bucket, Mapping) or not isinstance(obj, Mapping):
        raise _malformed("a record lacks s3.bucket or s3.object")
    name, raw_key = bucket.get("name"), obj.get("key")
    if not isinstance(name, str) or not name or not isinstance(raw_key, str) or not raw_key:
        raise _malformed("a record lacks the bucket name or the object key")
    event_name = record.get("eventName")
    if not isinstance(event_name, str) or not event_name:
        raise _malformed("a record has no eventName")
    size = obj.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise _malformed(f"a record's object size is not a count of bytes: {size!r}")
    return ObjectEvent(
        bucket=name,
        key=unquote_plus(raw_key),
        version_id=_optional_str(obj.get("versionId")),
        size=size,
        etag=_optional_str(obj.get("eTag")),
        sequencer=_optional_str(obj.get("sequencer")),
        event_name=event_name,
        event_time=parse_time(record.get("eventTime")),
    )


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def compare_sequencers(a: str, b: str) -> int:
    """-1, 0 or 1 as `a` is older than, the same as, or newer than `b`.

    S3 documents sequencers as hex strings to compare after left-padding the shorter one with zeros; they
    are only comparable for the same key.
    """
    width = max(len(a), len(b))
    left, right = a.upper().rjust(width, "0"), b.upper().rjust(width, "0")
    return (left > right) - (left < right)


def direct_notices(event: Mapping[str, Any]) -> Sequence[S3Notice]:
    """An S3 notification delivered straight to the function (no queue in between)."""
    return parse_s3_event(event)
