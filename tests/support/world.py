"""The moto world the handler runs in: the stack's buckets, its error topic read back through a subscribed
queue, and an invoker that returns the batch response with the EMF and log lines the function printed.

Everything a test asserts goes through what the handler left in AWS (renditions, SNS messages, the batch
response, the printed lines), never its internals. The world needs an active `mock_aws` (or a deployed
stack's resources, by name, in the least-privilege tests).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from fixtures.event_cases import REGION, Stored, World, s3_record, sqs_event
from handler.app import Dependencies, process_event
from handler.config import Settings, renditions_value
from handler.constants import DEFAULT_OUTPUT_FORMATS, DEFAULT_RENDITIONS, METRICS_NAMESPACE, EnvVar
from tests.support.lambda_context import InvocationContext

UPLOAD_BUCKET = "photopipe-test-uploads"
PROCESSED_BUCKET = "photopipe-test-processed"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:123456789012:photopipe-test-processing"
SERVICE = "photopipe-test"
# Botocore's own retries would hide injected faults from the handler; the tests want to see each one.
NO_RETRIES = Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=1)
FIRST_SEQUENCER = 0x0062F0A0B0C0D0E0F0

_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}
_SESSION: list[boto3.Session] = []


@contextlib.contextmanager
def aws_credentials() -> Iterator[None]:
    """Fake credentials so that nothing can ever reach a real account, whatever the environment holds."""
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


def shared_session() -> boto3.Session:
    """One session for every test: it caches the service models, which otherwise cost most of a test."""
    if not _SESSION:
        _SESSION.append(boto3.Session(region_name=REGION))
    return _SESSION[0]


def base_env(**overrides: str) -> dict[str, str]:
    """The function's environment as the template sets it at its defaults, plus `overrides`."""
    env: dict[str, str] = {
        EnvVar.PROCESSED_BUCKET: PROCESSED_BUCKET,
        EnvVar.ERROR_TOPIC_ARN: "",
        EnvVar.RENDITIONS: renditions_value(DEFAULT_RENDITIONS),
        EnvVar.OUTPUT_FORMATS: ",".join(DEFAULT_OUTPUT_FORMATS),
        EnvVar.POWERTOOLS_SERVICE_NAME: SERVICE,
        EnvVar.POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    }
    env.update(overrides)
    return {str(k): v for k, v in env.items()}


@dataclass
class Invocation:
    """One run of the handler: its batch response and the JSON lines it printed (EMF metrics and logs)."""

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


class MotoWorld:
    """Buckets, topic and a notification reader; builds the settings, the clients and the events."""

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
        self.session = session or shared_session()
        admin = admin or shared_session()
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
        self._sequencer = itertools.count(FIRST_SEQUENCER)
        self._requests = itertools.count(1)
        self._notifications: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ clients the handler gets
    def dependencies(
        self,
        *faults: Callable[[BaseClient], None],
        s3: BaseClient | None = None,
        sns: BaseClient | None = None,
    ) -> Dependencies:
        """The handler's clients (no botocore retries), with `faults` attached to both."""
        s3 = s3 or self.session.client("s3", config=NO_RETRIES)
        sns = sns or self.session.client("sns", config=NO_RETRIES)
        for fault in faults:
            fault(s3)
            fault(sns)
        return Dependencies(s3=s3, sns=sns)

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

    def remove(self, key: str, version_id: str | None = None) -> Stored:
        """Delete `key` as a user would (a delete marker), or one version for good: what the removal event
        names (the marker's or the deleted version's id, and the next sequencer)."""
        if version_id is None:
            answer = self.s3.delete_object(Bucket=self.upload_bucket, Key=key)
        else:
            answer = self.s3.delete_object(Bucket=self.upload_bucket, Key=key, VersionId=version_id)
        return Stored(key, answer.get("VersionId") or "", "", 0, f"{next(self._sequencer):018X}")

    def delete(self, stored: Stored) -> None:
        self.s3.delete_object(
            Bucket=self.upload_bucket, Key=stored.key, VersionId=stored.version_id or "null"
        )

    def world(self, stored: Mapping[str, Stored]) -> World:
        return World(self.upload_bucket, stored)

    # ------------------------------------------------------------------ events
    def body(self, stored: Stored, event_name: str = "ObjectCreated:Put", **obj: Any) -> str:
        """The notification S3 sends for `stored`; `obj` replaces fields of its object (None writes null)."""
        record = s3_record(
            bucket=self.upload_bucket,
            key=stored.key,
            event_name=event_name,
            size=stored.size,
            etag=stored.etag,
            version_id=stored.version_id,
            sequencer=stored.sequencer,
        )
        record["s3"]["object"].update(obj)
        return json.dumps({"Records": [record]})

    def removal(self, removed: Stored, event_name: str = "ObjectRemoved:DeleteMarkerCreated") -> str:
        """The notification S3 sends for a removal: no size and no ETag."""
        return self.body(removed, event_name, size=None, eTag=None)

    def sqs_event(self, bodies: list[tuple[str, str]], *, receive_count: int = 1) -> dict[str, Any]:
        """An SQS event as Lambda delivers it; `bodies` are (messageId, body) pairs."""
        return sqs_event(bodies, queue_arn=QUEUE_ARN, receive_count=receive_count)

    # ------------------------------------------------------------------ running the function
    def invoke(
        self, event: Any, *, deps: Dependencies | None = None, settings: Settings | None = None
    ) -> Invocation:
        """Run the handler once, capturing the JSON lines it prints (EMF metrics and structured logs)."""
        context = InvocationContext(f"req-{next(self._requests)}")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            response = process_event(event, context, settings or self.settings, deps or self.dependencies())
        invocation = Invocation(response)
        for line in out.getvalue().splitlines():
            try:
                blob = json.loads(line)
            except ValueError:
                continue
            if isinstance(blob, dict):
                (invocation.emf if "_aws" in blob else invocation.logs).append(blob)
        return invocation

    # ------------------------------------------------------------------ reading back
    def notifications(self) -> list[dict[str, Any]]:
        """Every error notification published so far (SNS -> subscribed queue), as parsed JSON messages,
        each with its errorType message attribute as `_attribute_errorType`."""
        while batch := self.sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in batch:
                envelope = json.loads(message["Body"])
                payload = json.loads(envelope["Message"])
                attributes = envelope.get("MessageAttributes", {})
                payload["_attribute_errorType"] = attributes.get("errorType", {}).get("Value")
                self._notifications.append(payload)
                self.sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"])
        return list(self._notifications)

    def forget_notifications(self) -> None:
        self._notifications.clear()

    def rendition_objects(self) -> dict[str, dict[str, Any]]:
        """Every object in the processed bucket: key -> its bytes, user metadata and headers."""
        found: dict[str, dict[str, Any]] = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.processed_bucket):
            for item in page.get("Contents", []):
                got = self.s3.get_object(Bucket=self.processed_bucket, Key=item["Key"])
                found[item["Key"]] = {
                    "data": got["Body"].read(),
                    "metadata": got["Metadata"],
                    "content_type": got["ContentType"],
                    "cache_control": got.get("CacheControl"),
                }
        return found

    def renditions(self) -> dict[str, tuple[bytes, dict[str, str]]]:
        """Every object in the processed bucket: key -> (bytes, user metadata)."""
        return {key: (obj["data"], obj["metadata"]) for key, obj in self.rendition_objects().items()}
