from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from rich.console import Console

from harness.deploy import TEMPLATE_BODY_LIMIT, DeployError, deploy
from harness.package import sha256_file
from harness.params import InvalidInputError
from harness.stack import describe_stack
from tests.harness.conftest import MINI_TEMPLATE, STACK, deploy_quietly

BUCKET = "photopipe-artifacts-123456789012-us-west-2"


def _deploy(session: boto3.Session, package: Path, console: Console | None = None, **parameters: str) -> Any:
    return deploy_quietly(session, package, parameters=parameters, console=console)


def _parameters(session: boto3.Session) -> dict[str, str]:
    stack = session.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def test_first_deploy_creates_the_stack_and_reports_its_outputs(
    session: boto3.Session, package: Path
) -> None:
    result = _deploy(session, package)

    assert result.changed
    assert result.status == "CREATE_COMPLETE"
    assert {"UploadBucketName", "ProcessingQueueUrl", "DeadLetterQueueArn", "FunctionName"} <= set(
        result.outputs
    )
    assert result.outputs["CodeKey"] == f"photopipe/lambda/{sha256_file(package)}.zip"


def test_the_artifact_bucket_is_created_private_encrypted_versioned_and_owner_enforced(
    session: boto3.Session, package: Path
) -> None:
    _deploy(session, package)
    s3 = session.client("s3")

    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    rule = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    ownership = s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_deploying_the_same_package_again_changes_nothing_and_leaves_no_change_set(
    session: boto3.Session, package: Path
) -> None:
    first = _deploy(session, package, NamePrefix="pics")

    again = _deploy(session, package)

    assert not again.changed
    assert again.outputs == first.outputs
    pending = [
        summary
        for summary in session.client("cloudformation").list_change_sets(StackName=STACK)["Summaries"]
        if summary["ExecutionStatus"] != "EXECUTE_COMPLETE"
    ]
    assert pending == []
    versions = session.client("s3").list_object_versions(Bucket=BUCKET).get("Versions", [])
    assert len(versions) == 1, "the content-addressed artifact is uploaded once"


def test_an_update_changes_the_given_parameter_and_keeps_the_previous_values(
    session: boto3.Session, package: Path
) -> None:
    _deploy(session, package, NamePrefix="pics")

    result = _deploy(session, package, MemorySize="2048")

    assert result.changed
    assert result.status == "UPDATE_COMPLETE"
    assert _parameters(session)["MemorySize"] == "2048"
    assert _parameters(session)["NamePrefix"] == "pics"


def test_a_template_over_the_body_limit_goes_through_the_artifact_bucket_and_redeploys_as_no_change(
    session: boto3.Session, package: Path, tmp_path: Path
) -> None:
    template = json.loads(MINI_TEMPLATE.read_text())
    template["Metadata"] = {"Padding": "x" * TEMPLATE_BODY_LIMIT}
    big = tmp_path / "big.json"
    big.write_text(json.dumps(template))

    def deploy_big() -> Any:
        return deploy_quietly(session, package, template=big)

    result = deploy_big()
    again = deploy_big()

    assert result.status == "CREATE_COMPLETE"
    assert not again.changed
    keys = [o["Key"] for o in session.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert any(key.startswith("photopipe/templates/") for key in keys)


def test_bad_parameters_are_refused_before_anything_is_uploaded(
    session: boto3.Session, package: Path
) -> None:
    with pytest.raises(InvalidInputError, match=r"NamePrefix='Pics': does not match AllowedPattern"):
        _deploy(session, package, NamePrefix="Pics")

    assert session.client("s3").list_buckets()["Buckets"] == []


def test_a_region_without_cloudformation_is_refused_before_upload(
    package: Path, session: boto3.Session
) -> None:
    elsewhere = boto3.Session(region_name="xx-nowhere-1")

    with pytest.raises(InvalidInputError, match="region 'xx-nowhere-1' has no CloudFormation endpoint"):
        _deploy(elsewhere, package)
    assert session.client("s3").list_buckets()["Buckets"] == []


def _simulate_failed_create(session: boto3.Session) -> None:
    """CloudFormation's answers for a create that rolls back (moto applies change sets without failing)."""
    state = {"executed": False}
    response = SimpleNamespace(status_code=200, headers={}, raw=None)

    def execute(**_: Any) -> tuple[Any, dict[str, Any]]:
        state["executed"] = True
        return response, {}

    def describe_stacks(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if not state["executed"]:
            return None
        stack = {"StackName": STACK, "StackStatus": "ROLLBACK_COMPLETE", "CreationTime": datetime.now(UTC)}
        return response, {"Stacks": [stack]}

    def describe_events(**_: Any) -> tuple[Any, dict[str, Any]]:
        now = datetime.now(UTC)
        events = [
            {
                "StackId": STACK,
                "EventId": "2",
                "StackName": STACK,
                "LogicalResourceId": STACK,
                "ResourceType": "AWS::CloudFormation::Stack",
                "ResourceStatus": "ROLLBACK_COMPLETE",
                "Timestamp": now,
            },
            {
                "StackId": STACK,
                "EventId": "1",
                "StackName": STACK,
                "LogicalResourceId": "ProcessingFunction",
                "ResourceType": "AWS::Lambda::Function",
                "ResourceStatus": "CREATE_FAILED",
                "ResourceStatusReason": "Error occurred while GetObject. S3 Error Code: AccessDenied",
                "Timestamp": now,
            },
        ]
        return response, {"StackEvents": events}

    session.events.register("before-call.cloudformation.ExecuteChangeSet", execute)
    session.events.register("before-call.cloudformation.DescribeStacks", describe_stacks)
    session.events.register("before-call.cloudformation.DescribeStackEvents", describe_events)


def test_a_failed_create_names_the_failing_resource_and_removes_the_uploaded_artifact(
    session: boto3.Session, package: Path
) -> None:
    _simulate_failed_create(session)
    output = io.StringIO()

    with pytest.raises(DeployError, match=r"ROLLBACK_COMPLETE: ProcessingFunction \(AWS::Lambda::Function\)"):
        _deploy(session, package, console=Console(file=output, width=200))

    assert "ProcessingFunction" in output.getvalue()
    assert "S3 Error Code: AccessDenied" in output.getvalue()
    s3 = session.client("s3")
    listing = s3.list_object_versions(Bucket=BUCKET)
    assert listing.get("Versions", []) == []
    assert listing.get("DeleteMarkers", []) == [], "the uploaded version is deleted, not hidden"


def test_deploy_works_over_http_against_a_moto_server_on_loopback(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded local stack's API is a moto server on 127.0.0.1: the same deploy code must work there."""
    from moto.server import ThreadedMotoServer

    from harness.emulator.motocompat import patch_moto

    patch_moto()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        local = boto3.Session(region_name="us-west-2")

        result = deploy(
            session=local,
            stack_name=STACK,
            package_path=package,
            parameters={},
            template_path=MINI_TEMPLATE,
            console=Console(file=io.StringIO()),
        )
        again = deploy(
            session=local,
            stack_name=STACK,
            package_path=package,
            parameters={},
            template_path=MINI_TEMPLATE,
            console=Console(file=io.StringIO()),
        )
    finally:
        server.stop()

    assert result.status == "CREATE_COMPLETE"
    assert "FunctionName" in result.outputs
    assert not again.changed


def test_a_map_keyed_by_a_number_parameter_resolves_as_in_cloudformation(
    session: boto3.Session, package: Path
) -> None:
    result = _deploy(session, package, Timeout="30")

    attributes = session.client("sqs").get_queue_attributes(
        QueueUrl=result.outputs["ProcessingQueueUrl"], AttributeNames=["VisibilityTimeout"]
    )
    assert attributes["Attributes"]["VisibilityTimeout"] == "480"


def test_a_stack_left_in_rollback_complete_is_deleted_and_created_again(
    session: boto3.Session, package: Path
) -> None:
    from moto.cloudformation.models import cloudformation_backends

    _deploy(session, package)
    cloudformation = session.client("cloudformation")
    first_id = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["StackId"]
    backend = cloudformation_backends["123456789012"]["us-west-2"]
    backend.stacks[first_id].status = "ROLLBACK_COMPLETE"  # what a failed first create leaves behind on AWS

    result = _deploy(session, package)

    assert result.status == "CREATE_COMPLETE"
    assert cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["StackId"] != first_id


def test_a_create_the_endpoint_rejects_while_executing_leaves_no_stack_and_nothing_uploaded(
    session: boto3.Session, package: Path, tmp_path: Path
) -> None:
    template = json.loads(MINI_TEMPLATE.read_text())
    template["Resources"]["ProcessingQueue"]["Properties"]["RedrivePolicy"] = {
        "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
        "maxReceiveCount": "five",
    }
    template["Metadata"] = {"Padding": "x" * TEMPLATE_BODY_LIMIT}  # so the template is uploaded too
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(template))

    with pytest.raises(DeployError, match="executing the change set for photopipe-test failed"):
        deploy(
            session=session,
            stack_name=STACK,
            package_path=package,
            parameters={},
            template_path=broken,
            console=Console(file=io.StringIO()),
        )

    assert describe_stack(session.client("cloudformation"), STACK) is None
    assert session.client("s3").list_object_versions(Bucket=BUCKET).get("Versions", []) == []
