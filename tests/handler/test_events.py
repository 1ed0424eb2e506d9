"""S3 notifications, inside SQS messages or direct, become ObjectEvents with decoded keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

import pytest

from handler.errors import ErrorType, PermanentError
from handler.events import (
    ObjectEvent,
    TestEvent,
    compare_sequencers,
    is_sqs_event,
    parse_body,
    parse_s3_event,
    parse_sqs_event,
)


def record(key: str, event_name: str = "ObjectCreated:Put", **obj: Any) -> dict[str, Any]:
    return {
        "eventSource": "aws:s3",
        "eventName": event_name,
        "eventTime": "2026-11-29T02:00:00.000Z",
        "s3": {"bucket": {"name": "uploads"}, "object": {"key": key, **obj}},
    }


def test_a_full_record_is_parsed() -> None:
    body = json.dumps(
        {"Records": [record("a/b.jpg", size=10, eTag="e", versionId="v", sequencer="0055AED6DCD90281E5")]}
    )
    assert parse_body(body) == [
        ObjectEvent(
            bucket="uploads",
            key="a/b.jpg",
            version_id="v",
            size=10,
            etag="e",
            sequencer="0055AED6DCD90281E5",
            event_name="ObjectCreated:Put",
            event_time=datetime(2026, 11, 29, 2, 0, tzinfo=UTC),
        )
    ]


@pytest.mark.parametrize(
    "key",
    ["my photos/summer day 1.jpg", "c++/a+b=c.jpg", "fotos/Zürich - 東京 🌅.jpg", "100%25 done/50% off.jpg"],
)
def test_keys_are_decoded_as_s3_encodes_them(key: str) -> None:
    [event] = parse_body(json.dumps({"Records": [record(quote_plus(key, safe="/"))]}))
    assert isinstance(event, ObjectEvent)
    assert event.key == key


def test_a_percent_encoded_slash_is_a_slash() -> None:
    [event] = parse_s3_event({"Records": [record("albums%2F2026%2Fx.jpg")]})
    assert isinstance(event, ObjectEvent)
    assert event.key == "albums/2026/x.jpg"


def test_moto_style_records_without_version_or_sequencer_parse() -> None:
    [event] = parse_s3_event({"Records": [record("k.jpg")]})
    assert isinstance(event, ObjectEvent)
    assert (event.version_id, event.sequencer, event.size) == (None, None, None)


@pytest.mark.parametrize(
    ("name", "create"),
    [
        ("ObjectCreated:Put", True),
        ("ObjectCreated:CompleteMultipartUpload", True),
        ("ObjectCreated:Copy", True),
        ("ObjectRemoved:Delete", False),
        ("ObjectRestore:Completed", False),
    ],
)
def test_only_object_created_events_are_creates(name: str, create: bool) -> None:
    [event] = parse_s3_event({"Records": [record("k", event_name=name)]})
    assert isinstance(event, ObjectEvent)
    assert event.is_create is create


def test_the_s3_test_event_is_recognised() -> None:
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "uploads"})
    assert parse_body(body) == [TestEvent("uploads")]


def test_an_sns_envelope_is_unwrapped() -> None:
    inner = json.dumps({"Records": [record("k.jpg")]})
    [event] = parse_body(json.dumps({"Type": "Notification", "Message": inner}))
    assert isinstance(event, ObjectEvent)
    assert event.key == "k.jpg"


@pytest.mark.parametrize(
    "body",
    [
        "this is not json",
        "null",
        "[1, 2, 3]",
        "{}",
        '{"Records": []}',
        '{"Records": "oops"}',
        '{"Records": [{"eventName": "ObjectCreated:Put"}]}',
        '{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {}}}]}',
        '{"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]}',
        '{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, '
        '"object": {"key": "k", "size": "big"}}}]}',
        '{"Records": [{"eventSource": "aws:s3", "s3": {"bucket"',
        '{"Type": "Notification", "Message": "not json either"}',
    ],
)
def test_a_malformed_body_is_a_permanent_malformed_event(body: str) -> None:
    with pytest.raises(PermanentError) as caught:
        parse_body(body)
    assert caught.value.error_type == ErrorType.MALFORMED_EVENT


def test_an_sqs_batch_yields_ids_bodies_and_receive_counts() -> None:
    event = {
        "Records": [
            {
                "messageId": "m1",
                "body": "x",
                "eventSource": "aws:sqs",
                "attributes": {"ApproximateReceiveCount": "3"},
            },
            {"messageId": "m2", "body": "y", "eventSource": "aws:sqs", "attributes": {}},
        ]
    }
    assert is_sqs_event(event)
    assert [(m.message_id, m.body, m.receive_count) for m in parse_sqs_event(event)] == [
        ("m1", "x", 3),
        ("m2", "y", 1),
    ]


def test_a_direct_s3_event_is_not_an_sqs_event() -> None:
    assert not is_sqs_event({"Records": [record("k")]})


@pytest.mark.parametrize(
    ("a", "b", "order"),
    [
        ("0055AED6DCD90281E5", "0055AED6DCD90281E6", -1),
        ("0055AED6DCD90281E5", "0055AED6DCD90281E5", 0),
        ("FF", "0100", -1),  # padded: 00FF < 0100
        ("0100", "FF", 1),
        ("a0", "A0", 0),
    ],
)
def test_sequencers_compare_as_left_padded_hex(a: str, b: str, order: int) -> None:
    assert compare_sequencers(a, b) == order
