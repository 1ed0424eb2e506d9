"""A deployed pipeline's storage in moto, for the reprocess and reconcile tests: a versioned upload bucket, a
processed bucket, a queue and a function whose environment holds the settings, named by a stack's outputs."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from handler.config import Settings
from handler.constants import EnvVar
from handler.errors import ErrorType
from handler.keys import rendition_keys
from handler.rejection import mark_rejected
from handler.storage import META_FINGERPRINT, META_SEQUENCER, META_VERSION
from harness.contract import StackParameter
from harness.outputs import StackOutput
from harness.pacing import Pacer
from harness.survey import Deployed

REGION = "us-west-2"
STACK = "photopipe-drift"
UPLOADS = "drift-uploads"
PROCESSED = "drift-processed"
SETTINGS = Settings(processed_bucket=PROCESSED, error_topic_arn="")
# Renditions written by the function as deployed (after it settled) speak for it; the tests' renditions are
# written "before" so the fingerprint the harness computes is the one compared with.
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2999, 1, 1, tzinfo=UTC)


class FakeClock:
    """A monotonic clock that only sleeping moves: pacing is counted, not waited for."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class RecordingSqs:
    """SendMessageBatch that keeps the bodies: moto's queue slows down with each message it holds, so the
    tests that send a thousand look at what was sent rather than at what a queue would return."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:  # noqa: N803
        self.bodies.extend(json.loads(entry["MessageBody"]) for entry in Entries)
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}

    def keys(self) -> list[str]:
        return sorted(body["Records"][0]["s3"]["object"]["key"] for body in self.bodies)


def pacer(per_second: float = 100.0, clock: FakeClock | None = None) -> Pacer:
    clock = clock or FakeClock()
    return Pacer(per_second, clock=clock, sleep=clock.sleep)


@dataclass
class World:
    session: boto3.Session
    deployed: Deployed

    @property
    def s3(self) -> Any:
        return self.session.client("s3")

    @property
    def sqs(self) -> Any:
        return self.session.client("sqs")

    def upload(self, key: str, body: bytes = b"photo") -> str:
        """Upload `key`; returns its version id."""
        return str(self.s3.put_object(Bucket=UPLOADS, Key=key, Body=body)["VersionId"])

    def reject(self, key: str, version: str, error_type: str = ErrorType.NOT_AN_IMAGE) -> None:
        """Tag the upload's version as the function tags one it rejected."""
        mark_rejected(self.s3, UPLOADS, key, version, error_type)

    def put_many(self, bucket: str, keys: Iterable[str]) -> None:
        s3 = self.s3
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=b"object"), keys))

    def render(
        self,
        key: str,
        *,
        fingerprint: str | None = SETTINGS.fingerprint,
        sequencer: str = "",
        version: str = "",
        only: int | None = None,
    ) -> list[str]:
        """Write the renditions of `key` as the function would (the first `only` of them)."""
        metadata = {META_SEQUENCER: sequencer, META_VERSION: version}
        if fingerprint is not None:
            metadata[META_FINGERPRINT] = fingerprint
        keys = list(rendition_keys(SETTINGS, key))[:only]
        for rendition in keys:
            self.s3.put_object(Bucket=PROCESSED, Key=rendition, Body=b"rendition", Metadata=metadata)
        return keys

    def stored(self) -> set[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=PROCESSED)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def messages(self) -> list[dict[str, Any]]:
        """Every message on the processing queue (received and deleted)."""
        bodies: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(QueueUrl=self.deployed.queue_url, MaxNumberOfMessages=10)
            received = answer.get("Messages", [])
            if not received:
                return bodies
            for message in received:
                bodies.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.deployed.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def message_keys(self) -> list[str]:
        return sorted(body["Records"][0]["s3"]["object"]["key"] for body in self.messages())


def _function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler/app.py", "def lambda_handler(event, context):\n    return None\n")
    return buffer.getvalue()


def build_world(
    session: boto3.Session,
    *,
    upload_prefix: str = "",
    settled_at: datetime = FAR_FUTURE,
    environment: dict[str, str] | None = None,
) -> World:
    """Buckets, queue, function and a stack whose outputs name them, all in moto."""
    s3 = session.client("s3")
    for bucket in (UPLOADS, PROCESSED):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=UPLOADS, VersioningConfiguration={"Status": "Enabled"})
    queue_url = session.client("sqs").create_queue(QueueName="drift-processing")["QueueUrl"]
    role = session.client("iam").create_role(RoleName="drift-function", AssumeRolePolicyDocument="{}")
    function = session.client("lambda").create_function(
        FunctionName="drift-function",
        Runtime="python3.13",
        Role=role["Role"]["Arn"],
        Handler="handler.app.lambda_handler",
        Code={"ZipFile": _function_zip()},
        Environment={"Variables": {EnvVar.PROCESSED_BUCKET: PROCESSED, **(environment or {})}},
    )
    outputs = {
        StackOutput.UPLOAD_BUCKET: UPLOADS,
        StackOutput.PROCESSED_BUCKET: PROCESSED,
        StackOutput.PROCESSING_QUEUE_URL: queue_url,
        StackOutput.FUNCTION_NAME: function["FunctionName"],
    }
    template = {
        "Parameters": {StackParameter.UPLOAD_KEY_PREFIX: {"Type": "String", "Default": ""}},
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    session.client("cloudformation").create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": StackParameter.UPLOAD_KEY_PREFIX, "ParameterValue": upload_prefix}],
    )
    deployed = Deployed(
        stack_name=STACK,
        upload_bucket=UPLOADS,
        processed_bucket=PROCESSED,
        queue_url=queue_url,
        function_name=function["FunctionName"],
        upload_prefix=upload_prefix,
        settings=SETTINGS,
        settled_at=settled_at,
    )
    return World(session, deployed)
