"""The watcher's pure parts: how often a photo is checked, and how a rejection notice is read."""

from __future__ import annotations

import json

import pytest

from loadtests.watcher import next_check, parse_notice


@pytest.mark.parametrize(
    ("age", "interval"), [(0.0, 0.25), (2.0, 0.25), (10.0, 0.5), (30.0, 1.5), (300.0, 2.0)]
)
def test_a_photo_is_checked_at_a_twentieth_of_its_age_between_a_quarter_second_and_two(
    age: float, interval: float
) -> None:
    assert next_check(age) == pytest.approx(interval)


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
