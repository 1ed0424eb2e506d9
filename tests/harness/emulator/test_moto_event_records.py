"""The local stack's S3 sends the records S3 sends (harness.emulator.motocompat.patch_s3_event_records): a
version id and a growing sequencer on every record, and the removals of a versioned bucket."""

from __future__ import annotations

import itertools
import json
from typing import Any

import boto3

from handler.events import compare_sequencers


def _wired(session: boto3.Session) -> tuple[Any, Any, str]:
    s3, sqs = session.client("s3"), session.client("sqs")
    s3.create_bucket(Bucket="uploads", CreateBucketConfiguration={"LocationConstraint": session.region_name})
    s3.put_bucket_versioning(Bucket="uploads", VersioningConfiguration={"Status": "Enabled"})
    queue = sqs.create_queue(QueueName="events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket="uploads",
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]},
                {"QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]},
            ]
        },
    )
    return s3, sqs, queue


def _records(sqs: Any, queue: str) -> list[dict[str, Any]]:
    found = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            body = json.loads(message["Body"])
            found.extend(body.get("Records", []))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_a_keys_life_is_notified_with_versions_and_growing_sequencers(session: boto3.Session) -> None:
    s3, sqs, queue = _wired(session)
    first = s3.put_object(Bucket="uploads", Key="a/b.jpg", Body=b"one")["VersionId"]
    marker = s3.delete_object(Bucket="uploads", Key="a/b.jpg")["VersionId"]
    second = s3.put_object(Bucket="uploads", Key="a/b.jpg", Body=b"two")["VersionId"]
    s3.delete_object(Bucket="uploads", Key="a/b.jpg", VersionId=first)  # others remain

    records = _records(sqs, queue)

    assert [(r["eventName"], r["s3"]["object"].get("versionId")) for r in records] == [
        ("ObjectCreated:Put", first),
        ("ObjectRemoved:DeleteMarkerCreated", marker),
        ("ObjectCreated:Put", second),
        ("ObjectRemoved:Delete", first),
    ]
    sequencers = [r["s3"]["object"]["sequencer"] for r in records]
    assert all(compare_sequencers(a, b) < 0 for a, b in itertools.pairwise(sequencers))
    assert "size" not in records[1]["s3"]["object"], "a delete marker has no size"
