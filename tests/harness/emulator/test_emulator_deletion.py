"""Deletion propagation on the embedded local stack: S3's own removal events, through the queue, to the built
function; a re-upload of the key after the delete is rendered again. With DeletionPropagation=Disabled the
upload bucket notifies no removal and the renditions stay."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fixtures.generate import fixture_bytes
from handler.errors import is_gone
from harness.emulator import EmbeddedStack
from tests.support.waiting import wait_for

pytestmark = pytest.mark.emulator

KEY = "albums/to be deleted.jpg"
SETTLE_S = 3.0  # longer than a removal takes on an idle local stack


def _renditions_of(s3: Any, bucket: str, key: str) -> dict[str, str]:
    """Rendition key -> the upload version it was made from; one deleted between the listing and its HEAD
    (the removal racing this look) is gone."""
    stem = key.rsplit(".", 1)[0]
    found = {}
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        if item["Key"].split("/", 1)[1].rsplit(".", 1)[0] == stem:
            try:
                head = s3.head_object(Bucket=bucket, Key=item["Key"])
            except ClientError as exc:
                if is_gone(exc):
                    continue
                raise
            found[item["Key"]] = head["Metadata"].get("source-version-id", "")
    return found


def _queue_empty(stack: EmbeddedStack) -> bool:
    attributes = (
        stack.session()
        .client("sqs")
        .get_queue_attributes(
            QueueUrl=stack.outputs["ProcessingQueueUrl"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    )
    return sum(int(value) for value in attributes.values()) == 0


@pytest.mark.parametrize("propagation", ["Enabled", "Disabled"])
def test_a_deleted_upload_loses_its_renditions_unless_propagation_is_disabled(
    propagation: str, tmp_path: Path
) -> None:
    parameters = {"Timeout": "15", "MaximumConcurrency": "2", "DeletionPropagation": propagation}
    stack_name = f"photopipe-deletion-{propagation.lower()}"
    with EmbeddedStack(port=0, stack_name=stack_name, parameters=parameters, workdir=tmp_path) as stack:
        s3 = stack.session().client("s3")
        uploads, processed = stack.outputs["UploadBucketName"], stack.outputs["ProcessedBucketName"]

        def renditions() -> dict[str, str]:
            return _renditions_of(s3, processed, KEY)

        first = s3.put_object(Bucket=uploads, Key=KEY, Body=fixture_bytes("jpeg-0.3mp"))["VersionId"]
        wait_for(lambda: set(renditions().values()) == {first}, "the renditions", seen=renditions)
        written = set(renditions())
        assert len(written) >= 2

        s3.delete_object(Bucket=uploads, Key=KEY)

        if propagation == "Disabled":
            time.sleep(SETTLE_S)
            wait_for(lambda: _queue_empty(stack), "an empty processing queue", seen=renditions)
            assert set(renditions()) == written, "archived: the renditions outlive the upload"
            return
        wait_for(lambda: not renditions(), "the renditions to be deleted", seen=renditions)
        second = s3.put_object(Bucket=uploads, Key=KEY, Body=fixture_bytes("jpeg-orientation-3"))["VersionId"]
        wait_for(
            lambda: set(renditions().values()) == {second}, "the re-upload's renditions", seen=renditions
        )
        assert set(renditions()) == written


def test_a_disabled_mapping_leaves_new_records_in_the_queue_until_it_is_enabled_again(tmp_path: Path) -> None:
    """What destroy relies on before it empties the buckets: their removals must not reach the function."""
    parameters = {"Timeout": "15", "MaximumConcurrency": "2"}
    stack_name = "photopipe-mapping"
    with EmbeddedStack(port=0, stack_name=stack_name, parameters=parameters, workdir=tmp_path) as stack:
        session = stack.session()
        s3, sqs, lam = session.client("s3"), session.client("sqs"), session.client("lambda")
        (mapping,) = lam.list_event_source_mappings()["EventSourceMappings"]
        lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)

        s3.put_object(Bucket=stack.outputs["UploadBucketName"], Key=KEY, Body=fixture_bytes("jpeg-0.3mp"))
        time.sleep(SETTLE_S)

        def renditions() -> dict[str, str]:
            return _renditions_of(s3, stack.outputs["ProcessedBucketName"], KEY)

        waiting = sqs.get_queue_attributes(
            QueueUrl=stack.outputs["ProcessingQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        assert (waiting, renditions()) == ("1", {})
        lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
        wait_for(lambda: len(renditions()) >= 2, "the renditions once enabled", seen=renditions)
