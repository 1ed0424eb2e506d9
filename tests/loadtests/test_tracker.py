"""The watcher against S3 (moto in process): a photo is processed when every rendition is there, a deleted
photo is settled when none is left, a photo uploaded again when its renditions come from the newest upload."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handler.constants import RENDITION_WRITTEN_AT_METADATA
from handler.storage import META_ETAG, META_VERSION
from harness.outputs import StackOutput
from loadtests.accounting import Resolution, Upload
from loadtests.lifecycle import DELETE, Deletion
from loadtests.watcher import Tracker

BUCKET = "processed"
STARTED = 1_795_921_200.0  # 2026-11-29T03:00:00Z


def _keys(source: str) -> list[str]:
    return [f"large/{source}", f"thumbnail/{source}"]


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def tracker(s3: Any) -> Tracker:
    return Tracker(
        s3=s3,
        sqs=None,
        sns=None,
        outputs={StackOutput.PROCESSED_BUCKET: BUCKET},
        rendition_keys=_keys,
        run_id="r1",
        timeout=60,
    )


def _upload(key: str = "a.jpg", then: str = "keep", etag: str = "e1") -> Upload:
    return Upload(
        key, "up", "jpeg-0.3mp", "processed", 10, STARTED, STARTED + 0.1, True, then=then, etag=etag
    )


def _put(s3: Any, key: str, written_at: str = "2026-11-29T03:00:01.000Z", etag: str = "e1") -> None:
    metadata = {RENDITION_WRITTEN_AT_METADATA: written_at, META_ETAG: etag, META_VERSION: ""}
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"x", Metadata=metadata)


def test_a_photo_is_not_processed_while_one_of_its_renditions_is_missing(s3: Any, tracker: Tracker) -> None:
    tracker.add(_upload())
    _put(s3, "thumbnail/a.jpg")
    assert tracker.check(_upload(), now=STARTED + 5) is False
    assert "a.jpg" not in tracker.resolutions


def test_a_photo_is_processed_at_the_latest_stamp_once_every_rendition_is_there(
    s3: Any, tracker: Tracker
) -> None:
    tracker.add(_upload())
    _put(s3, "large/a.jpg", "2026-11-29T03:00:01.500Z")
    _put(s3, "thumbnail/a.jpg", "2026-11-29T03:00:01.000Z")
    assert tracker.check(_upload(), now=STARTED + 5) is True
    assert tracker.resolutions["a.jpg"].at == pytest.approx(STARTED + 1.5)


def test_a_deleted_photo_is_followed_until_none_of_its_renditions_is_left(s3: Any, tracker: Tracker) -> None:
    tracker.add(_upload(then=DELETE))
    _put(s3, "large/a.jpg")
    _put(s3, "thumbnail/a.jpg")
    tracker.deleted(Deletion("a.jpg", STARTED + 3, STARTED + 3.1, True))
    assert tracker.resolutions["a.jpg"].outcome == "deleted"  # gone before the watcher saw it processed
    assert tracker.awaited(STARTED + 4) == ["a.jpg"]
    assert tracker.follow("a.jpg", now=STARTED + 5) is False
    s3.delete_object(Bucket=BUCKET, Key="large/a.jpg")
    assert tracker.follow("a.jpg", now=STARTED + 6) is False
    s3.delete_object(Bucket=BUCKET, Key="thumbnail/a.jpg")
    assert tracker.follow("a.jpg", now=STARTED + 7) is True
    assert tracker.gone == {"a.jpg": STARTED + 7}
    assert tracker.awaited(STARTED + 8) == []


def test_a_photo_uploaded_again_is_fresh_once_its_renditions_come_from_the_newest_upload(
    s3: Any, tracker: Tracker
) -> None:
    tracker.add(_upload(then="reupload", etag="e1"))
    for key in _keys("a.jpg"):
        _put(s3, key, etag="e1")
    tracker.reuploaded(_upload(etag="e2"))
    assert tracker.follow("a.jpg", now=STARTED + 5) is False
    assert tracker.fresh == {"a.jpg": False}
    for key in _keys("a.jpg"):
        _put(s3, key, etag="e2")
    assert tracker.follow("a.jpg", now=STARTED + 6) is True
    assert tracker.fresh == {"a.jpg": True}


def test_the_run_waits_for_a_photo_whose_deletion_is_still_to_come(tracker: Tracker) -> None:
    tracker.lifecycle_delay = 3.0
    tracker.add(_upload(then=DELETE))
    tracker.resolve("a.jpg", Resolution("processed", STARTED + 1))
    assert tracker.awaited(STARTED + 2) == ["a.jpg"]
    assert tracker.awaited(STARTED + 0.1 + 3.0 + 60 + 1) == []  # given up after the delay and the timeout
