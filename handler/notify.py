"""Error notifications: one SNS message per rejected photo, and per record that ran out of retries.

The message is JSON so that subscribers (email, a ticketing webhook, a queue) can filter on `errorType`, which
is also a message attribute for SNS subscription filter policies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from handler.errors import ErrorType

if TYPE_CHECKING:  # the stubs are a lint dependency; the runtime needs none of this
    from mypy_boto3_sns import SNSClient

# SNS refuses a subject of 100 characters or more ("must be less than 100 characters long").
SUBJECT_LIMIT = 99


@dataclass(frozen=True, slots=True)
class Rejection:
    bucket: str | None
    key: str | None
    version_id: str | None
    error_type: ErrorType
    reason: str
    request_id: str
    time: datetime

    def message(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "versionId": self.version_id,
            "errorType": str(self.error_type),
            "reason": self.reason,
            "requestId": self.request_id,
            "time": self.time.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }


class Notifier:
    """Publishes to the error topic; with no topic configured it publishes nothing (local runs, tests)."""

    def __init__(self, sns: SNSClient, topic_arn: str) -> None:
        self._sns = sns
        self._topic = topic_arn

    def publish(self, rejection: Rejection) -> None:
        """Raises what SNS raises: the caller decides whether the record is retried."""
        if not self._topic:
            return
        subject = f"photopipe: {rejection.error_type} {rejection.key or ''}".strip()
        self._sns.publish(
            TopicArn=self._topic,
            Message=json.dumps(rejection.message(), ensure_ascii=False, sort_keys=True),
            Subject=_subject(subject),
            MessageAttributes={"errorType": {"DataType": "String", "StringValue": str(rejection.error_type)}},
        )


def _subject(text: str) -> str:
    """SNS subjects: ASCII printable, no newlines, fewer than 100 characters."""
    clean = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return clean[:SUBJECT_LIMIT]
