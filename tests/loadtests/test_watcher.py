"""The watcher's pure parts: how often a photo is checked, and how a rejection notice is read."""

from __future__ import annotations

import json

import pytest

from handler.constants import RENDITION_WRITTEN_AT_METADATA
from loadtests.watcher import completion_time, first_check, next_check, parse_notice


@pytest.mark.parametrize(
    ("age", "interval"), [(0.0, 1.0), (2.0, 1.0), (10.0, 2.5), (20.0, 5.0), (300.0, 5.0)]
)
def test_a_photo_is_checked_at_a_quarter_of_its_age_between_one_second_and_five(
    age: float, interval: float
) -> None:
    assert next_check(age) == pytest.approx(interval)


def test_a_new_photo_is_first_looked_at_when_recent_photos_were_mostly_done() -> None:
    assert first_check([]) == 1.0
    assert first_check([0.2, 0.3, 0.4]) == 1.0
    assert first_check([10.0, 20.0, 30.0]) == pytest.approx(16.0)


STARTED = 1_795_921_200.0  # 2026-11-29T03:00:00Z


def test_a_rendition_is_done_at_the_time_the_handler_stamped_on_it() -> None:
    metadata = {RENDITION_WRITTEN_AT_METADATA: "2026-11-29T03:00:01.234Z"}
    assert completion_time(metadata, STARTED, seen=STARTED + 9) == pytest.approx(STARTED + 1.234)


def test_a_stamp_a_little_outside_the_upload_and_the_look_is_held_within_them() -> None:
    early = {RENDITION_WRITTEN_AT_METADATA: "2026-11-29T02:59:59.900Z"}  # the handler's clock a bit behind
    late = {RENDITION_WRITTEN_AT_METADATA: "2026-11-29T03:00:05.100Z"}
    assert completion_time(early, STARTED, seen=STARTED + 5) == STARTED
    assert completion_time(late, STARTED, seen=STARTED + 5) == STARTED + 5


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {RENDITION_WRITTEN_AT_METADATA: "yesterday"},
        {RENDITION_WRITTEN_AT_METADATA: "2026-11-28T03:00:00Z"},
    ],
)
def test_without_a_believable_stamp_the_time_is_not_read_from_the_rendition(metadata: dict[str, str]) -> None:
    assert completion_time(metadata, STARTED, seen=STARTED + 5) is None


NOTICE = {
    "bucket": "up",
    "key": "loadtest/r1/a b.jpg",
    "versionId": None,
    "errorType": "NotAnImage",
    "reason": "not an image",
    "requestId": "req",
    "time": "2026-11-29T03:00:00.500000+00:00",
}


def test_a_notice_is_read_from_its_sns_envelope() -> None:
    body = json.dumps({"Type": "Notification", "Message": json.dumps(NOTICE)})
    assert parse_notice(body) == ("loadtest/r1/a b.jpg", "NotAnImage", 1795921200.5)


def test_a_raw_notice_is_read_too() -> None:
    assert parse_notice(json.dumps(NOTICE)) == ("loadtest/r1/a b.jpg", "NotAnImage", 1795921200.5)


@pytest.mark.parametrize("body", ["not json", json.dumps({"Type": "Notification", "Message": "{}"}), "[]"])
def test_anything_else_is_not_a_notice(body: str) -> None:
    assert parse_notice(body) is None
