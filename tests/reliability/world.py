"""A moto-backed world for driving the handler: the stack's buckets, its error topic, and a way to read back.

Everything the reliability tests assert goes through what the handler left in AWS (renditions, SNS messages
read back through a subscribed queue, the batch response, the EMF lines it printed), never its internals.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from fixtures.event_cases import REGION, Stored, World, sqs_event
from handler.app import Dependencies, process_event
from handler.config import Settings, renditions_value
from handler.constants import DEFAULT_OUTPUT_FORMATS, DEFAULT_RENDITIONS, EnvVar
from tests.support.lambda_context import InvocationContext

UPLOAD_BUCKET = "photopipe-test-uploads"
PROCESSED_BUCKET = "photopipe-test-processed"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:123456789012:photopipe-test-processing"
SERVICE = "photopipe-test"
# Botocore's own retries would hide injected faults from the handler; the tests want to see each one.
NO_RETRIES = Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=1)


def base_env(**overrides: str) -> dict[str, str]:
    env: dict[str, str] = {
        EnvVar.PROCESSED_BUCKET: PROCESSED_BUCKET,
        EnvVar.ERROR_TOPIC_ARN: "",
        EnvVar.RENDITIONS: renditions_value(DEFAULT_RENDITIONS),
        EnvVar.OUTPUT_FORMATS: ",".join(DEFAULT_OUTPUT_FORMATS),
        EnvVar.POWERTOOLS_SERVICE_NAME: SERVICE,
        EnvVar.POWERTOOLS_METRICS_NAMESPACE: "Photopipe",
    }
    env.update(overrides)
    return {str(k): v for k, v in env.items()}


@dataclass
class Invocation:
    response: Any
    emf: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed_ids(self) -> list[str]:
        if not isinstance(self.response, dict):
            return []
        return [item["itemIdentifier"] for item in self.response.get("batchItemFailures", [])]

    def metric_values(self, name: str, **dimensions: str) -> list[float]:
        """Values of metric `name` in the EMF lines whose dimensions include `dimensions`."""
        values: list[float] = []
        for blob in self.emf:
            if name not in blob or any(blob.get(k) != v for k, v in dimensions.items()):
                continue
            value = blob[name]
            values.extend(value if isinstance(value, list) else [value])
        return values


class PipelineWorld:
    """Buckets, topic and a notification reader inside an active `mock_aws`; builds settings and clients."""

    def __init__(
        self,
        session: boto3.Session | None = None,
        *,
        admin: boto3.Session | None = None,
        upload_bucket: str | None = None,
        processed_bucket: str | None = None,
        topic_arn: str | None = None,
        **env: str,
    ) -> None:
        """Create the stack's resources, or use a deployed stack's when their names are given.

        `session` is what the handler's clients are built from (the function's credentials in the
        least-privilege tests); `admin` is what the test itself uses to put objects and read back.
        """
        self.session = session or boto3.Session(region_name=REGION)
        admin = admin or boto3.Session(region_name=REGION)
        self.s3 = admin.client("s3")
        self.sns = admin.client("sns")
        self.sqs = admin.client("sqs")
        self.upload_bucket = upload_bucket or UPLOAD_BUCKET
        self.processed_bucket = processed_bucket or PROCESSED_BUCKET
        if upload_bucket is None:
            self.s3.create_bucket(Bucket=self.upload_bucket)
            self.s3.put_bucket_versioning(
                Bucket=self.upload_bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        if processed_bucket is None:
            self.s3.create_bucket(Bucket=self.processed_bucket)
        self.topic_arn = topic_arn or self.sns.create_topic(Name="photopipe-test-errors")["TopicArn"]
        self.inbox_url = self.sqs.create_queue(QueueName="photopipe-test-error-inbox")["QueueUrl"]
        inbox_arn = self.sqs.get_queue_attributes(QueueUrl=self.inbox_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=inbox_arn)
        self.env = base_env(
            **{
                str(EnvVar.ERROR_TOPIC_ARN): self.topic_arn,
                str(EnvVar.PROCESSED_BUCKET): self.processed_bucket,
            },
            **env,
        )
        self.settings = Settings.from_env(self.env)
        self._sequencer = itertools.count(0x0062F0A0B0C0D0E0F0)
        self._requests = itertools.count(1)
        self._notifications: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ clients the handler gets
    def dependencies(self, s3: BaseClient | None = None, sns: BaseClient | None = None) -> Dependencies:
        return Dependencies(
            s3=s3 or self.session.client("s3", config=NO_RETRIES),
            sns=sns or self.session.client("sns", config=NO_RETRIES),
        )

    # ------------------------------------------------------------------ the upload side
    def put(self, key: str, data: bytes, *, sequencer: int | None = None) -> Stored:
        answer = self.s3.put_object(Bucket=self.upload_bucket, Key=key, Body=data)
        seq = next(self._sequencer) if sequencer is None else sequencer
        return Stored(
            key=key,
            version_id=answer.get("VersionId"),
            etag=answer["ETag"].strip('"'),
            size=len(data),
            sequencer=f"{seq:018X}",
        )

    def delete(self, stored: Stored) -> None:
        self.s3.delete_object(
            Bucket=self.upload_bucket, Key=stored.key, VersionId=stored.version_id or "null"
        )

    def world(self, stored: Mapping[str, Stored]) -> World:
        return World(self.upload_bucket, stored)

    # ------------------------------------------------------------------ running the function
    def invoke(
        self,
        event: Any,
        *,
        deps: Dependencies | None = None,
        settings: Settings | None = None,
    ) -> Invocation:
        """Run the handler once, capturing the JSON lines it prints (EMF metrics and structured logs)."""
        context = InvocationContext(f"req-{next(self._requests):04d}")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            response = process_event(event, context, settings or self.settings, deps or self.dependencies())
        emf, logs = [], []
        for line in out.getvalue().splitlines():
            try:
                blob = json.loads(line)
            except ValueError:
                continue
            if isinstance(blob, dict) and "_aws" in blob:
                emf.append(blob)
            elif isinstance(blob, dict):
                logs.append(blob)
        return Invocation(response, emf, logs)

    def sqs_event(self, bodies: list[tuple[str, str]], *, receive_count: int = 1) -> dict[str, Any]:
        return sqs_event(bodies, queue_arn=QUEUE_ARN, receive_count=receive_count)

    # ------------------------------------------------------------------ reading back
    def notifications(self) -> list[dict[str, Any]]:
        """Every error notification published so far (SNS -> subscribed queue), as parsed JSON messages."""
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                return list(self._notifications)
            for message in batch:
                envelope = json.loads(message["Body"])
                payload = json.loads(envelope["Message"])
                attributes = envelope.get("MessageAttributes", {})
                payload["_attribute_errorType"] = attributes.get("errorType", {}).get("Value")
                self._notifications.append(payload)
                self.sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"])

    def forget_notifications(self) -> None:
        self._notifications.clear()

    def renditions(self) -> dict[str, tuple[bytes, dict[str, str]]]:
        """Every object in the processed bucket: key -> (bytes, user metadata)."""
        found: dict[str, tuple[bytes, dict[str, str]]] = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.processed_bucket):
            for item in page.get("Contents", []):
                got = self.s3.get_object(Bucket=self.processed_bucket, Key=item["Key"])
                found[item["Key"]] = (got["Body"].read(), got["Metadata"])
        return found


@contextlib.contextmanager
def aws_credentials() -> Iterator[None]:
    """Fake credentials so that nothing can ever reach a real account, whatever the environment holds."""
    import os

    saved = {k: os.environ.get(k) for k in _FAKE_ENV}
    os.environ.update(_FAKE_ENV)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}
