"""The template creates CREATE_COMPLETE in moto's CloudFormation, with the defaults and with extreme values.

moto skips several resource types (queue/bucket/topic policies, alarms, subscriptions) and bucket properties;
these tests prove the template parses, resolves and wires what moto does build, not what AWS enforces.
"""

from __future__ import annotations

import ast
import io
import zipfile
from collections.abc import Iterator
from typing import Any, Final

import boto3
import pytest
from moto import mock_aws

from harness.contract import TEMPLATE_PATH
from harness.emulator.motocompat import patch_condition_equals, patch_novalue_in_lists
from harness.outputs import StackOutput

REGION: Final = "us-west-2"
CODE_BUCKET = "photopipe-code-test"
CODE_KEY = "code/function.zip"

# moto announces every resource type it skips; the module docstring says which: noise here.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")


def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler/app.py", "def lambda_handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[boto3.Session, str | None]]:
    """A moto account with the function zip uploaded (to a versioned bucket); yields the zip's version."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    patch_condition_equals()  # moto compares Number parameters as ints; the template compares with "0"
    patch_novalue_in_lists()  # moto keeps a list item that resolves to AWS::NoValue as None
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        s3 = session.client("s3")
        s3.create_bucket(Bucket=CODE_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=CODE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        version = s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=_dummy_zip()).get("VersionId")
        yield session, version


def _create(session: boto3.Session, stack: str, parameters: dict[str, str]) -> dict[str, Any]:
    cfn = session.client("cloudformation")
    given = {"CodeS3Bucket": CODE_BUCKET, "CodeS3Key": CODE_KEY, **parameters}
    cfn.create_stack(
        StackName=stack,
        TemplateBody=TEMPLATE_PATH.read_text(encoding="utf-8"),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in given.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    return cfn.describe_stacks(StackName=stack)["Stacks"][0]  # type: ignore[return-value]


def _outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def test_the_template_creates_with_the_default_parameters(aws: tuple[boto3.Session, str | None]) -> None:
    session, _ = aws

    stack = _create(session, "photopipe-defaults", {})

    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    assert set(_outputs(stack)) == {str(key) for key in StackOutput}


def test_the_created_function_and_queue_carry_the_resolved_settings(
    aws: tuple[boto3.Session, str | None],
) -> None:
    session, _ = aws
    outputs = _outputs(_create(session, "photopipe-wired", {}))

    function = session.client("lambda").get_function_configuration(FunctionName=outputs["FunctionName"])
    queue = session.client("sqs").get_queue_attributes(
        QueueUrl=outputs[StackOutput.PROCESSING_QUEUE_URL], AttributeNames=["All"]
    )["Attributes"]

    assert function["Handler"] == "handler.app.lambda_handler"
    assert function["Timeout"] == 60
    assert function["Environment"]["Variables"]["RENDITIONS"] == "large=1024x768,thumbnail=256x256"
    assert function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "photopipe-wired"
    assert function["Environment"]["Variables"]["PROCESSED_BUCKET"] == outputs[StackOutput.PROCESSED_BUCKET]
    assert queue["VisibilityTimeout"] == "660"
    assert queue["SqsManagedSseEnabled"] == "true"
    assert outputs[StackOutput.DEAD_LETTER_QUEUE_ARN] in queue["RedrivePolicy"]


def test_the_template_creates_with_extreme_parameters(aws: tuple[boto3.Session, str | None]) -> None:
    session, version = aws
    assert version is not None

    stack = _create(
        session,
        "photopipe-extremes",
        {
            "NamePrefix": "a" * 15,
            "NotificationEmail": "ops@example.com",
            "Timeout": "900",
            "MemorySize": "10240",
            "ReservedConcurrency": "0",
            "MaximumConcurrency": "1000",
            "BatchSize": "100",
            "MaximumBatchingWindow": "300",
            "RenditionTransitionDays": "365",
            "UploadKeyPrefix": "uploads/",
            "CodeS3ObjectVersion": version,
            "Runtime": "python3.11",
            "Architecture": "x86_64",
        },
    )
    outputs = _outputs(stack)
    queue = session.client("sqs").get_queue_attributes(
        QueueUrl=outputs[StackOutput.PROCESSING_QUEUE_URL], AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    concurrency = session.client("lambda").get_function_concurrency(FunctionName=outputs["FunctionName"])

    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    assert queue["VisibilityTimeout"] == "5700"
    assert "ReservedConcurrentExecutions" not in concurrency


def _role_actions(session: boto3.Session, stack: str) -> set[str]:
    """Every action the function's role grants, as moto holds its inline policies (moto keeps a
    CloudFormation role's policy as the Python repr of the resolved dict)."""
    cfn, iam = session.client("cloudformation"), session.client("iam")
    summaries = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    role = next(r["PhysicalResourceId"] for r in summaries if r.get("LogicalResourceId") == "FunctionRole")
    actions: set[str] = set()
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document: Any = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(document, str):
            document = ast.literal_eval(document)
        for statement in document["Statement"]:
            action = statement["Action"]
            actions.update([action] if isinstance(action, str) else action)
    return actions


@pytest.mark.parametrize(("tracing", "granted"), [("PassThrough", False), ("Active", True)])
def test_the_role_may_send_traces_only_when_tracing_is_active(
    aws: tuple[boto3.Session, str | None], tracing: str, granted: bool
) -> None:
    session, _ = aws

    stack = _create(session, f"photopipe-tracing-{tracing.lower()}", {"Tracing": tracing})

    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    assert ("xray:PutTraceSegments" in _role_actions(session, stack["StackName"])) is granted
