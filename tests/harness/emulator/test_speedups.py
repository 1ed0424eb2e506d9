"""The moto speedups change costs, not answers: listing a versioned bucket reads no object's body."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.s3.models import S3Backend

from harness.emulator import speedups

BODY = b"x" * (4 * 1024 * 1024)


@pytest.fixture
def bucket() -> Iterator[Any]:
    with mock_aws():
        s3 = boto3.client(
            "s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        s3.create_bucket(Bucket="photos")
        s3.put_bucket_versioning(Bucket="photos", VersioningConfiguration={"Status": "Enabled"})
        for key in ("a.jpg", "b.jpg"):
            s3.put_object(Bucket="photos", Key=key, Body=BODY)
            s3.put_object(Bucket="photos", Key=key, Body=BODY)
        s3.delete_object(Bucket="photos", Key="a.jpg")
        yield s3


def _listing(s3: Any) -> tuple[list[tuple[str, bool, bool]], int]:
    """Every version and delete marker (key, is latest, is a marker), and the peak memory the listing took."""
    tracemalloc.start()
    try:
        seen: list[tuple[str, bool, bool]] = []
        for page in s3.get_paginator("list_object_versions").paginate(Bucket="photos", MaxKeys=2):
            seen += [(v["Key"], v["IsLatest"], False) for v in page.get("Versions", [])]
            seen += [(m["Key"], m["IsLatest"], True) for m in page.get("DeleteMarkers", [])]
        return sorted(seen), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_moto_alone_copies_every_body_to_list_the_versions(bucket: Any) -> None:
    _, peak = _listing(bucket)

    assert peak > len(BODY)


def test_with_the_speedup_the_listing_is_the_same_and_reads_no_body(
    bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected, _ = _listing(bucket)
    monkeypatch.setattr(S3Backend, "list_object_versions", S3Backend.list_object_versions)  # restored after
    speedups._list_versions_without_body_copies()

    listed, peak = _listing(bucket)

    assert listed == expected
    assert listed == sorted(
        [
            ("a.jpg", True, True),
            ("a.jpg", False, False),
            ("a.jpg", False, False),
            ("b.jpg", True, False),
            ("b.jpg", False, False),
        ]
    )
    assert peak < len(BODY) // 4
    gc.collect()  # moto closes a key's body when the key is collected: the listing's copies must not
    newest = bucket.get_object(Bucket="photos", Key="b.jpg")["Body"].read()
    assert newest == BODY
