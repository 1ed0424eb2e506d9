"""The local console's one line per photo, read from the handler's structured log lines."""

from __future__ import annotations

import json

import pytest

from harness.emulator.photolog import photo_line


def _log(message: str, **extra: object) -> str:
    return json.dumps({"level": "INFO", "message": message, "key": "albums/a b.jpg", **extra})


def test_a_processed_photo_names_its_key_and_each_rendition_size() -> None:
    line = photo_line(
        _log(
            "processed",
            renditions={
                "large/albums/a b.jpg": [1024, 683, 91000],
                "thumbnail/albums/a b.jpg": [256, 171, 9000],
            },
        )
    )

    assert line is not None
    assert line.text == "processed albums/a b.jpg: large 1024x683, thumbnail 256x171"
    assert line.style == "green"


def test_a_rejected_photo_names_the_error_type_and_reason() -> None:
    line = photo_line(_log("rejected", error_type="NotAnImage", reason="no decoder recognises these bytes"))

    assert line is not None
    assert line.text == "rejected albums/a b.jpg: NotAnImage (no decoder recognises these bytes)"
    assert line.style == "red"


def test_a_removal_counts_the_deleted_renditions() -> None:
    line = photo_line(_log("deleted", renditions=["large/a.jpg", "thumbnail/a.jpg"], kept=[]))

    assert line is not None
    assert line.text == "deleted albums/a b.jpg: 2 rendition(s) deleted"


def test_a_retried_record_says_which_attempt_failed() -> None:
    line = photo_line(
        _log("transient failure; the record is retried", error="ReadTimeoutError()", receive_count=2)
    )

    assert line is not None
    assert line.text == "retrying albums/a b.jpg: ReadTimeoutError() (attempt 2)"


@pytest.mark.parametrize(
    "message",
    [
        "START RequestId: 1 Version: $LATEST",
        "REPORT RequestId: 1\tDuration: 12.00 ms",
        json.dumps({"_aws": {"CloudWatchMetrics": []}, "ProcessedImages": 1}),
        json.dumps({"level": "INFO", "message": "cold start"}),
        json.dumps({"message": "skipped", "reason": "TestEvent", "detail": "s3:TestEvent names no object"}),
        json.dumps(["processed"]),
        "{not json",
    ],
)
def test_lines_that_are_not_a_photos_outcome_yield_nothing(message: str) -> None:
    assert photo_line(message) is None
