"""Deploy, no-op redeploy and destroy of template/template.json itself against moto (in process)."""

from __future__ import annotations

import io
from pathlib import Path

import boto3
import pytest
from rich.console import Console

from harness.deploy import DeployResult, deploy
from harness.destroy import destroy
from harness.outputs import StackOutput
from harness.stack import describe_stack, read_outputs

STACK = "photopipe-real"


def _deploy(session: boto3.Session, package: Path, **parameters: str) -> DeployResult:
    return deploy(
        session=session,
        stack_name=STACK,
        package_path=package,
        parameters={"Architecture": "x86_64", **parameters},
        console=Console(file=io.StringIO()),
    )


@pytest.fixture
def deployed(session: boto3.Session, package: Path) -> DeployResult:
    return _deploy(session, package, NotificationEmail="ops@example.com")


def test_the_real_template_deploys_with_every_output_the_harness_reads(
    session: boto3.Session, deployed: DeployResult
) -> None:
    assert deployed.status == "CREATE_COMPLETE"
    assert set(read_outputs(session, STACK)) >= set(StackOutput)


def test_resources_moto_cannot_model_are_still_listed_with_their_types(
    session: boto3.Session, deployed: DeployResult
) -> None:
    summaries = session.client("cloudformation").list_stack_resources(StackName=STACK)[
        "StackResourceSummaries"
    ]
    types = {summary["LogicalResourceId"]: summary["ResourceType"] for summary in summaries}

    assert types["ProcessingQueuePolicy"] == "AWS::SQS::QueuePolicy"
    assert types["AlarmTopicEmailSubscription"] == "AWS::SNS::Subscription"
    assert any(name.endswith("Alarm") and kind == "AWS::CloudWatch::Alarm" for name, kind in types.items())


def test_redeploying_the_real_template_unchanged_is_a_no_op(
    session: boto3.Session, package: Path, deployed: DeployResult
) -> None:
    again = _deploy(session, package)

    assert not again.changed
    assert again.outputs == deployed.outputs


def test_destroy_removes_the_real_stack_after_emptying_its_buckets(
    session: boto3.Session, deployed: DeployResult
) -> None:
    s3 = session.client("s3")
    upload = deployed.outputs[StackOutput.UPLOAD_BUCKET]
    s3.put_bucket_versioning(Bucket=upload, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=upload, Key="album/1.jpg", Body=b"jpeg")
    s3.delete_object(Bucket=upload, Key="album/1.jpg")

    result = destroy(session=session, stack_name=STACK, console=Console(file=io.StringIO()))

    assert result.emptied[upload] == 2
    assert deployed.outputs[StackOutput.PROCESSED_BUCKET] in result.emptied
    assert describe_stack(session.client("cloudformation"), STACK) is None
