"""The function's role, exactly as the template grants it, runs the pipeline and can do nothing else.

The template is deployed into moto's CloudFormation; the role's policies are read back as moto created them
(parameters and ARNs resolved), and an IAM user carrying exactly those policies runs the handler with moto's
IAM enforcement on. The pipeline must work (renditions written, a rejection notified), and each probe of an
action the function has no business doing must be denied.

What moto enforces (5.2.5): identity policies on every request that reaches a service through moto's generic
dispatcher (SQS, SNS, KMS, IAM, STS, CloudWatch, Logs, Lambda, ...) and S3's own dispatcher. The resource it
matches against is a real ARN only for S3 (bucket/key), SQS (queue), IAM and STS; every other service is
checked against "*", which a resource-scoped grant never matches. The tests therefore teach moto the resource
of the two other services the function uses (SNS topic, KMS key) before enforcing, so that a grant on the
error topic allows that topic and no other; bucket-policy conditions (aws:SecureTransport, ...) are not
evaluated.
"""

from __future__ import annotations

import ast
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from fixtures.event_cases import REGION, body_for, photo, s3_record
from handler.constants import DEFAULT_MAX_RECEIVE_COUNT, REJECTED_TAG_KEY
from handler.errors import ErrorType
from harness.contract import TEMPLATE_PATH, StackParameter
from harness.emulator.motocompat import patch_moto
from harness.outputs import StackOutput
from tests.support.world import NO_RETRIES, MotoWorld, aws_credentials

from .bounded import run_bounded

STACK = "photopipe-lp"
ARTIFACTS = "photopipe-lp-artifacts"


def _teach_moto_resources(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto authorise SNS and KMS requests against the topic/key they name instead of "*"."""
    from moto.kms.models import kms_backends
    from moto.kms.responses import KmsResponse
    from moto.sns.responses import SNSResponse

    def sns_resource(self: Any) -> str:
        return str(self._get_param("TopicArn") or self._get_param("TargetArn") or "*")

    def kms_resource(self: Any) -> str:
        key_id = self._get_param("KeyId")
        if not key_id:
            return "*"
        try:
            return str(kms_backends[self.current_account][self.region].describe_key(key_id).arn)
        except Exception:
            return "*"

    monkeypatch.setattr(SNSResponse, "_determine_resource", sns_resource, raising=False)
    monkeypatch.setattr(KmsResponse, "_determine_resource", kms_resource, raising=False)


def _code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler/app.py", "def lambda_handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@dataclass
class Deployed:
    outputs: dict[str, str]
    policies: list[dict[str, Any]]
    function: boto3.Session
    admin: boto3.Session
    pipeline_key: str
    other_key: str


def _user_session(iam: Any, name: str, documents: list[dict[str, Any]]) -> boto3.Session:
    iam.create_user(UserName=name)
    for number, document in enumerate(documents):
        iam.put_user_policy(UserName=name, PolicyName=f"p{number}", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
    )


def _physical_id(cfn: Any, logical_id: str) -> str:
    """The stack resource's physical ID (moto cannot describe one resource when the stack holds types it
    skips, so the listing is searched)."""
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=STACK):
        for summary in page["StackResourceSummaries"]:
            if summary["LogicalResourceId"] == logical_id:
                return str(summary["PhysicalResourceId"])
    raise AssertionError(f"the stack has no {logical_id}")


def _document(document: Any) -> dict[str, Any]:
    """A policy document as a dict. moto (5.2.5) keeps a CloudFormation role's inline policy as the Python
    repr of the template's dict, not JSON; the values in it are the resolved ones all the same."""
    if isinstance(document, dict):
        return document
    try:
        parsed = json.loads(document)
    except ValueError:
        parsed = ast.literal_eval(document)
    assert isinstance(parsed, dict)
    return parsed


def _role_policies(iam: Any, role_name: str) -> list[dict[str, Any]]:
    """The role's inline policies and the documents of its attached managed policies, as moto holds them."""
    documents = []
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        documents.append(_document(document))
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(
            PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )
        documents.append(_document(version["PolicyVersion"]["Document"]))
    return documents


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    """Deployed once per module; every test runs in a forked copy of this world (see _enforced), so a probe
    that succeeds for the administrator (deleting, purging, scheduling a key's deletion) changes nothing for
    the next test."""
    patch_moto()  # moto's CloudFormation as the deploy code meets it (conditional statements resolved)
    with pytest.MonkeyPatch.context() as monkeypatch, aws_credentials(), mock_aws():
        _teach_moto_resources(monkeypatch)
        setup = boto3.Session(region_name=REGION)
        s3 = setup.client("s3")
        s3.create_bucket(Bucket=ARTIFACTS)
        s3.put_object(Bucket=ARTIFACTS, Key="code.zip", Body=_code_zip())
        cfn = setup.client("cloudformation")
        cfn.create_stack(
            StackName=STACK,
            TemplateBody=TEMPLATE_PATH.read_text(),
            Parameters=[
                {"ParameterKey": StackParameter.NAME_PREFIX, "ParameterValue": "pplp"},
                {"ParameterKey": StackParameter.CODE_S3_BUCKET, "ParameterValue": ARTIFACTS},
                {"ParameterKey": StackParameter.CODE_S3_KEY, "ParameterValue": "code.zip"},
            ],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )
        stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        iam = setup.client("iam")
        policies = _role_policies(iam, _physical_id(cfn, "FunctionRole"))
        admin = _user_session(
            iam,
            "lp-admin",
            [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}],
        )
        function = _user_session(iam, "lp-function", policies)
        kms = setup.client("kms")
        # Not kms:DescribeKey: moto 5.2.5 crashes on it for a key created by CloudFormation (it keeps the
        # key policy as a dict and json.loads it).
        account = setup.client("sts").get_caller_identity()["Account"]
        pipeline_key = f"arn:aws:kms:{REGION}:{account}:key/{_physical_id(cfn, 'PipelineKey')}"
        other_key = kms.create_key(Description="not the pipeline's")["KeyMetadata"]["Arn"]
        s3.put_object(Bucket=outputs[StackOutput.PROCESSED_BUCKET], Key="private/notes.txt", Body=b"private")
        yield Deployed(outputs, policies, function, admin, pipeline_key, other_key)


def _enforced(function: Callable[[], Any]) -> Any:
    """Run in a forked copy of the world with moto's IAM enforcement on from the first request
    (set_initial_no_auth_action_count(0)); what the call changes dies with the child."""
    measured = run_bounded(lambda _meter: set_initial_no_auth_action_count(0)(function)())
    assert measured.error is None, measured.error
    return measured.value


def _world(deployed: Deployed) -> MotoWorld:
    outputs = deployed.outputs
    return MotoWorld(
        session=deployed.function,
        admin=deployed.admin,
        upload_bucket=outputs[StackOutput.UPLOAD_BUCKET],
        processed_bucket=outputs[StackOutput.PROCESSED_BUCKET],
        topic_arn=outputs[StackOutput.ERROR_TOPIC_ARN],
    )


def test_the_role_grants_no_wildcard_action_or_resource_on_data(deployed: Deployed) -> None:
    for document in deployed.policies:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions), statement
            resources = statement.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            if any(a.split(":")[0] in {"s3", "sns", "sqs", "kms"} for a in actions):
                assert "*" not in resources, statement


def test_the_pipeline_works_with_exactly_the_role_policy(deployed: Deployed) -> None:
    def scenario() -> tuple[list[str], list[str], list[dict[str, Any]], list[dict[str, str]]]:
        world = _world(deployed)
        good = world.put("albums/ok.jpg", photo(4))
        bad = world.put("albums/not-a-photo.jpg", b"plain text, not a photo")
        event = world.sqs_event(
            [("good", body_for(good, world.upload_bucket)), ("bad", body_for(bad, world.upload_bucket))]
        )
        invocation = world.invoke(event, deps=world.dependencies())
        renditions = [key for key in world.renditions() if key.startswith(("large/", "thumbnail/"))]
        tags = world.s3.get_object_tagging(Bucket=world.upload_bucket, Key=bad.key)["TagSet"]
        return invocation.failed_ids, sorted(renditions), world.notifications(), tags

    failed, renditions, notes, tags = _enforced(scenario)

    assert failed == []
    assert renditions == ["large/albums/ok.jpg", "thumbnail/albums/ok.jpg"]
    assert [(n["key"], n["errorType"]) for n in notes] == [("albums/not-a-photo.jpg", ErrorType.NOT_AN_IMAGE)]
    assert tags == [{"Key": REJECTED_TAG_KEY, "Value": ErrorType.NOT_AN_IMAGE}]


def test_a_removed_upload_loses_its_renditions_with_exactly_the_role_policy(deployed: Deployed) -> None:
    def scenario() -> tuple[list[str], list[str], list[str], list[dict[str, Any]]]:
        world = _world(deployed)
        stored = world.put("albums/removed.jpg", photo(4))
        created = world.invoke(
            world.sqs_event([("c", body_for(stored, world.upload_bucket))]), deps=world.dependencies()
        )
        before = sorted(world.renditions())
        world.s3.delete_object(Bucket=world.upload_bucket, Key=stored.key)  # moto's stack: unversioned
        record = s3_record(
            bucket=world.upload_bucket,
            key=stored.key,
            event_name="ObjectRemoved:Delete",
            size=None,
            sequencer=f"{int(stored.sequencer, 16) + 1:018X}",
        )
        removed = world.invoke(
            world.sqs_event([("r", json.dumps({"Records": [record]}))]), deps=world.dependencies()
        )
        after = sorted(world.renditions())
        return created.failed_ids + removed.failed_ids, before, after, world.notifications()

    failed, before, after, notes = _enforced(scenario)

    assert failed == []
    assert before == ["large/albums/removed.jpg", "private/notes.txt", "thumbnail/albums/removed.jpg"]
    assert after == ["private/notes.txt"], "only the removed upload's renditions go"
    assert notes == []


def test_a_record_for_a_bucket_the_role_cannot_read_ends_notified_in_the_dlq(deployed: Deployed) -> None:
    """A misrouted or forged record naming another bucket: IAM refuses the read (AccessDenied), which the
    handler treats as a deployment fault worth retrying, so the record is retried and, at its last receive,
    notified as RetriesExhausted and left to the DLQ. (Without IAM, moto answers NoSuchBucket: a skip.)"""

    def scenario() -> tuple[list[str], list[str], list[dict[str, Any]]]:
        world = _world(deployed)
        body = json.dumps({"Records": [s3_record(bucket=ARTIFACTS, key="code.zip", size=100)]})
        first = world.invoke(world.sqs_event([("foreign", body)], receive_count=1), deps=world.dependencies())
        last = world.invoke(
            world.sqs_event([("foreign", body)], receive_count=DEFAULT_MAX_RECEIVE_COUNT),
            deps=world.dependencies(),
        )
        return first.failed_ids, last.failed_ids, world.notifications()

    first, last, notes = _enforced(scenario)

    assert first == last == ["foreign"]
    assert [(n["bucket"], n["key"], n["errorType"]) for n in notes] == [
        (ARTIFACTS, "code.zip", ErrorType.RETRIES_EXHAUSTED)
    ]


Probe = Callable[[boto3.Session, Deployed], Any]


def _c(session: boto3.Session, service: str) -> Any:
    return session.client(service, config=NO_RETRIES)  # type: ignore[call-overload]


def _o(deployed: Deployed, key: StackOutput) -> str:
    return deployed.outputs[key]


DOC = json.dumps({"Version": "2012-10-17", "Statement": []})
UP, PROC = StackOutput.UPLOAD_BUCKET, StackOutput.PROCESSED_BUCKET
MARK = {"TagSet": [{"Key": REJECTED_TAG_KEY, "Value": str(ErrorType.NOT_AN_IMAGE)}]}


def _existing(deployed: Deployed, bucket: str, key: str) -> str:
    """`key`, after the administrator has put it in `bucket`: a missing object answers NoSuchKey, which says
    nothing about the grant."""
    _c(deployed.admin, "s3").put_object(Bucket=bucket, Key=key, Body=b"object")
    return key


def _tag(session: boto3.Session, bucket: str, key: str) -> Any:
    return _c(session, "s3").put_object_tagging(Bucket=bucket, Key=key, Tagging=MARK)


# What the function must never do. Each probe is also run with administrator credentials, which must succeed:
# the denial then comes from the role's policy, not from a call that could not work anyway.
FORBIDDEN: dict[str, Probe] = {
    "s3:PutObject on the upload bucket": lambda s, d: _c(s, "s3").put_object(
        Bucket=_o(d, UP), Key="albums/ok.jpg", Body=b"overwritten"
    ),
    "s3:DeleteObject on the upload bucket": lambda s, d: _c(s, "s3").delete_object(
        Bucket=_o(d, UP), Key="albums/ok.jpg"
    ),
    "s3:ListBucket on another bucket": lambda s, d: _c(s, "s3").list_objects_v2(Bucket=ARTIFACTS),
    "s3:PutBucketPolicy on the upload bucket": lambda s, d: _c(s, "s3").put_bucket_policy(
        Bucket=_o(d, UP), Policy=DOC
    ),
    "s3:DeleteObject outside the rendition prefixes": lambda s, d: _c(s, "s3").delete_object(
        Bucket=_o(d, PROC), Key="private/notes.txt"
    ),
    "s3:GetObject outside the rendition prefixes": lambda s, d: _c(s, "s3").get_object(
        Bucket=_o(d, PROC), Key="private/notes.txt"
    ),
    "s3:PutObject outside the rendition prefixes": lambda s, d: _c(s, "s3").put_object(
        Bucket=_o(d, PROC), Key="index.html", Body=b"defaced"
    ),
    "s3:PutObject under a prefix the Renditions list does not name": lambda s, d: _c(s, "s3").put_object(
        Bucket=_o(d, PROC), Key="medium/albums/ok.jpg", Body=b"not a listed rendition"
    ),
    "s3:PutObjectTagging on a rendition": lambda s, d: _tag(
        s, _o(d, PROC), _existing(d, _o(d, PROC), "large/albums/ok.jpg")
    ),
    "s3:PutObjectTagging outside the rendition prefixes": lambda s, d: _tag(
        s, _o(d, PROC), "private/notes.txt"
    ),
    "s3:PutObjectTagging on another bucket": lambda s, d: _tag(s, ARTIFACTS, "code.zip"),
    "s3:GetObject on another bucket": lambda s, d: _c(s, "s3").get_object(Bucket=ARTIFACTS, Key="code.zip"),
    "s3:PutObject on another bucket": lambda s, d: _c(s, "s3").put_object(
        Bucket=ARTIFACTS, Key="x", Body=b"x"
    ),
    "sns:Publish to another topic (alarms)": lambda s, d: _c(s, "sns").publish(
        TopicArn=_o(d, StackOutput.ALARM_TOPIC_ARN), Message="x"
    ),
    "sns:Subscribe to the error topic": lambda s, d: _c(s, "sns").subscribe(
        TopicArn=_o(d, StackOutput.ERROR_TOPIC_ARN), Protocol="email", Endpoint="intruder@example.com"
    ),
    "sqs:ReceiveMessage on the DLQ": lambda s, d: _c(s, "sqs").receive_message(
        QueueUrl=_o(d, StackOutput.DEAD_LETTER_QUEUE_URL), WaitTimeSeconds=0
    ),
    "sqs:PurgeQueue on the DLQ": lambda s, d: _c(s, "sqs").purge_queue(
        QueueUrl=_o(d, StackOutput.DEAD_LETTER_QUEUE_URL)
    ),
    "sqs:SendMessage to the processing queue": lambda s, d: _c(s, "sqs").send_message(
        QueueUrl=_o(d, StackOutput.PROCESSING_QUEUE_URL), MessageBody="{}"
    ),
    "kms:GenerateDataKey with another key": lambda s, d: _c(s, "kms").generate_data_key(
        KeyId=d.other_key, KeySpec="AES_256"
    ),
    "kms:ScheduleKeyDeletion on the pipeline key": lambda s, d: _c(s, "kms").schedule_key_deletion(
        KeyId=d.pipeline_key.rsplit("/", 1)[-1]  # by id: moto's ScheduleKeyDeletion does not take an ARN
    ),
    "iam:CreateUser": lambda s, d: _c(s, "iam").create_user(UserName="intruder"),
    "lambda:UpdateFunctionConfiguration": lambda s, d: _c(s, "lambda").update_function_configuration(
        FunctionName=_o(d, StackOutput.FUNCTION_NAME), Timeout=900
    ),
    "cloudwatch:PutMetricData (metrics go out as EMF log lines)": lambda s, d: _c(
        s, "cloudwatch"
    ).put_metric_data(Namespace="Photopipe", MetricData=[{"MetricName": "Forged", "Value": 1.0}]),
}

# What the function needs besides the S3 reads/writes and the publish that the pipeline run exercises.
GRANTED: dict[str, Probe] = {
    "sqs:ReceiveMessage on the processing queue": lambda s, d: _c(s, "sqs").receive_message(
        QueueUrl=_o(d, StackOutput.PROCESSING_QUEUE_URL), WaitTimeSeconds=0
    ),
    "sqs:GetQueueAttributes on the processing queue": lambda s, d: _c(s, "sqs").get_queue_attributes(
        QueueUrl=_o(d, StackOutput.PROCESSING_QUEUE_URL), AttributeNames=["All"]
    ),
    "kms:GenerateDataKey with the pipeline key": lambda s, d: _c(s, "kms").generate_data_key(
        KeyId=d.pipeline_key, KeySpec="AES_256"
    ),
    "s3:ListBucket on the upload bucket (a missing upload answers 404)": lambda s, d: _c(
        s, "s3"
    ).list_objects_v2(Bucket=_o(d, UP)),
    "s3:ListBucket on the processed bucket (a missing rendition answers 404)": lambda s, d: _c(
        s, "s3"
    ).list_objects_v2(Bucket=_o(d, PROC)),
    "s3:PutObjectTagging on an upload (a rejected upload's mark)": lambda s, d: _tag(
        s, _o(d, UP), _existing(d, _o(d, UP), "albums/rejected.jpg")
    ),
    "s3:GetObjectTagging on an upload (its own tags, kept beside the mark)": lambda s, d: _c(
        s, "s3"
    ).get_object_tagging(Bucket=_o(d, UP), Key=_existing(d, _o(d, UP), "albums/rejected.jpg")),
    "sns:Publish to the error topic": lambda s, d: _c(s, "sns").publish(
        TopicArn=_o(d, StackOutput.ERROR_TOPIC_ARN), Message="{}"
    ),
    "s3:DeleteObject on a rendition (DeletionPropagation=Enabled, the default)": lambda s, d: _c(
        s, "s3"
    ).delete_object(Bucket=_o(d, PROC), Key="large/albums/ok.jpg"),
}


def _attempt(probe: Probe, session: boto3.Session, deployed: Deployed) -> str | None:
    """The error code the probe met with IAM enforcement on, or None when it was allowed."""

    def call() -> str | None:
        try:
            probe(session, deployed)
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return None

    result: str | None = _enforced(call)
    return result


DENIED = {"AccessDenied", "AccessDeniedException", "403"}


@pytest.mark.parametrize("probe", list(FORBIDDEN))
def test_a_forbidden_action_is_denied(deployed: Deployed, probe: str) -> None:
    as_function = _attempt(FORBIDDEN[probe], deployed.function, deployed)
    as_admin = _attempt(FORBIDDEN[probe], deployed.admin, deployed)

    assert as_function in DENIED, f"{probe}: the function's credentials got {as_function or 'through'}"
    assert as_admin is None, (
        f"{probe} failed for the administrator too ({as_admin}): the probe proves nothing"
    )


@pytest.mark.parametrize("probe", list(GRANTED))
def test_a_needed_action_is_allowed(deployed: Deployed, probe: str) -> None:
    assert _attempt(GRANTED[probe], deployed.function, deployed) is None
