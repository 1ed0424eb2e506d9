"""The error notification's subject is one SNS accepts for any key: printable ASCII, under 100 characters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from handler.errors import ErrorType
from handler.notify import Notifier, Rejection


class RecordingSns:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(kwargs)
        return {"MessageId": "1"}


def _publish(key: str) -> str:
    sns = RecordingSns()
    rejection = Rejection(
        bucket="uploads",
        key=key,
        version_id=None,
        error_type=next(iter(ErrorType)),
        reason="not an image",
        request_id="req-1",
        time=datetime(2026, 12, 1, tzinfo=UTC),
    )
    Notifier(sns, "arn:aws:sns:us-west-2:111122223333:errors").publish(rejection)
    return str(sns.calls[0]["Subject"])


def test_a_long_key_is_cut_to_99_characters_because_sns_refuses_100() -> None:
    subject = _publish("photos/" + "a" * 300 + ".jpg")

    assert len(subject) == 99
    assert subject.startswith("photopipe: ")


def test_a_short_subject_is_kept_whole() -> None:
    assert _publish("photos/cat.jpg").endswith(" photos/cat.jpg")


def test_non_ascii_and_newlines_become_question_marks() -> None:
    subject = _publish("photos/caf\u00e9\n.jpg")

    assert subject.endswith("photos/caf??.jpg")
    assert subject.isascii()
