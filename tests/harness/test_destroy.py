from __future__ import annotations

import io
from pathlib import Path

import boto3
from rich.console import Console

from harness.deploy import deploy
from harness.destroy import destroy
from harness.stack import describe_stack
from tests.harness.conftest import MINI_TEMPLATE

STACK = "photopipe-test"


def test_destroy_empties_every_version_and_delete_marker_then_deletes_the_stack(
    session: boto3.Session, package: Path
) -> None:
    quiet = Console(file=io.StringIO())
    outputs = deploy(
        session=session,
        stack_name=STACK,
        package_path=package,
        parameters={},
        template_path=MINI_TEMPLATE,
        console=quiet,
        poll_seconds=0.0,
    ).outputs
    s3 = session.client("s3")
    bucket = outputs["UploadBucketName"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="photos/a.jpg", Body=b"v1")
    s3.put_object(Bucket=bucket, Key="photos/a.jpg", Body=b"v2")
    s3.delete_object(Bucket=bucket, Key="photos/a.jpg")  # a delete marker on top of two versions

    result = destroy(session=session, stack_name=STACK, console=quiet, poll_seconds=0.0)

    assert result.existed
    assert result.status == "DELETE_COMPLETE"
    assert result.emptied == {bucket: 3}
    assert describe_stack(session.client("cloudformation"), STACK) is None


def test_destroying_a_stack_that_does_not_exist_reports_it_and_succeeds(session: boto3.Session) -> None:
    result = destroy(session=session, stack_name="never-deployed", console=Console(file=io.StringIO()))

    assert not result.existed
    assert result.status == "DOES_NOT_EXIST"
