"""The canary: a photo followed to its renditions tells whether the bucket notification delivers yet; it
leaves nothing behind, and when nothing comes it says why that usually is."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pytest
from rich.console import Console

from handler.keys import rendition_keys
from harness.canary import (
    NotDeliveredError,
    canary_key,
    deployed_settings,
    existing_renditions,
    wait_for_delivery,
)
from harness.cli import main
from harness.deploy import deploy
from tests.harness.conftest import MINI_TEMPLATE, REGION

OUTPUTS = {"UploadBucketName": "pp-upload", "ProcessedBucketName": "pp-processed"}


@pytest.fixture
def buckets(session: boto3.Session) -> boto3.Session:
    s3 = session.client("s3")
    for bucket in OUTPUTS.values():
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return session


def _versions(session: boto3.Session, bucket: str) -> list[str]:
    listed = session.client("s3").list_object_versions(Bucket=bucket)
    return [item["Key"] for item in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]]


def test_a_delivered_canary_reports_its_time_and_leaves_no_version_behind(buckets: boto3.Session) -> None:
    key = canary_key("uploads/")
    s3 = buckets.client("s3")
    stem = key.rsplit(".", 1)[0]
    for rendition in ("large", "thumbnail"):  # what the function writes for it
        s3.put_object(Bucket="pp-processed", Key=f"{rendition}/{stem}.jpg", Body=b"jpeg")

    seconds = wait_for_delivery(buckets, OUTPUTS, key=key, timeout=5.0, poll=0.01)

    assert 0 <= seconds < 5.0
    assert key.startswith("uploads/photopipe-canary/")
    assert _versions(buckets, "pp-upload") == []
    assert _versions(buckets, "pp-processed") == []


def test_a_canary_that_never_arrives_names_the_likely_cause_and_is_removed(buckets: boto3.Session) -> None:
    key = canary_key()

    with pytest.raises(NotDeliveredError, match="S3 can take minutes to apply a new one"):
        wait_for_delivery(buckets, OUTPUTS, key=key, timeout=0.05, poll=0.01)

    assert _versions(buckets, "pp-upload") == []


def test_the_renditions_looked_for_are_those_the_stack_was_deployed_with() -> None:
    settings = deployed_settings({"Renditions": "hero=2048x2048,small=128x128", "OutputFormats": "WEBP,JPEG"})

    assert rendition_keys(settings, "a/b.png") == (
        "hero/a/b.webp",
        "hero/a/b.jpg",
        "small/a/b.webp",
        "small/a/b.jpg",
    )
    assert rendition_keys(deployed_settings({}), "a/b.png") == ("large/a/b.jpg", "thumbnail/a/b.jpg")


def test_only_the_expected_renditions_that_exist_are_found(buckets: boto3.Session) -> None:
    s3 = buckets.client("s3")
    s3.put_object(Bucket="pp-processed", Key="large/a/b.webp", Body=b"x")
    s3.put_object(Bucket="pp-processed", Key="large/a/bc.webp", Body=b"x")

    found = existing_renditions(s3, "pp-processed", ["large/a/b.jpg", "large/a/b.webp", "thumbnail/a/b.webp"])

    assert found == ["large/a/b.webp"]


def test_a_canary_waits_for_every_rendition_of_a_deployed_list(buckets: boto3.Session) -> None:
    settings = deployed_settings({"Renditions": "hero=2048x2048,small=128x128", "OutputFormats": "JPEG,WEBP"})
    key = canary_key()
    s3 = buckets.client("s3")
    for rendition in rendition_keys(settings, key)[:-1]:
        s3.put_object(Bucket="pp-processed", Key=rendition, Body=b"x")

    with pytest.raises(NotDeliveredError):
        wait_for_delivery(buckets, OUTPUTS, key=key, timeout=0.05, poll=0.01, settings=settings)
    assert _versions(buckets, "pp-processed") == [], "what did arrive is removed too"


def test_the_command_fails_with_the_cause_when_nothing_processes_the_canary(
    session: boto3.Session, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """moto runs no function: the canary cannot come through, and the command says so (exit 1)."""
    template = json.loads(MINI_TEMPLATE.read_text())
    template["Resources"]["ProcessedBucket"] = {"Type": "AWS::S3::Bucket"}
    template["Outputs"]["ProcessedBucketName"] = {"Value": {"Ref": "ProcessedBucket"}}
    path = package.parent / "with_processed.json"
    path.write_text(json.dumps(template))
    deploy(
        session=session,
        stack_name="pics",
        package_path=package,
        parameters={},
        template_path=path,
        console=Console(file=io.StringIO()),
        poll_seconds=0.0,
    )

    code = main(["canary", "--stack-name", "pics", "--region", REGION, "--timeout", "0.1"])

    assert code == 1
    assert "had no renditions after 0 s" in capsys.readouterr().out
