"""A moto world for the handler tests: upload and processed buckets, the error topic read back through a
subscribed queue, and an invoker that returns the batch response with the EMF and log lines printed."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config

from handler.app import Dependencies, process_event
from handler.config import Settings
from handler.constants import EnvVar
from tests.support.lambda_context import InvocationContext

REGION = "us-east-1"
UPLOADS = "photopipe-handler-uploads"
PROCESSED = "photopipe-handler-processed"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:123456789012:photopipe-handler-queue"
SERVICE = "photopipe-handler-test"
EVENT_TIME = "2026-11-29T02:00:00.000Z"
# The tests want to see every injected fault, not botocore's own retries of it.
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=1)


@dataclass(frozen=True)
class Upload:
    key: str
    version_id: str
    etag: str
    size: int
    sequencer: str


@dataclass
class Result:
    response: Any
    emf: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)

    def metric(self, name: str, **dimensions: str) -> list[float]:
        values: list[float] = []
        for blob in self.emf:
            if name in blob and all(blob.get(k) == v for k, v in dimensions.items()):
                value = blob[name]
                values.extend(value if isinstance(value, list) else [value])
        return values


_SESSION: list[boto3.session.Session] = []


def session() -> boto3.session.Session:
    """One session for every test: it caches the service models, which otherwise cost most of a test."""
    if not _SESSION:
        _SESSION.append(boto3.session.Session(region_name=REGION))
    return _SESSION[0]


class World:
    def __init__(self, capsys: pytest.CaptureFixture[str], **env: str) -> None:
        self.capsys = capsys
        self.s3 = session().client("s3")
        self.sns = session().client("sns")
        self.sqs = session().client("sqs")
        self.s3.create_bucket(Bucket=UPLOADS)
        self.s3.put_bucket_versioning(Bucket=UPLOADS, VersioningConfiguration={"Status": "Enabled"})
        self.s3.create_bucket(Bucket=PROCESSED)
        self.topic = self.sns.create_topic(Name="photopipe-handler-errors")["TopicArn"]
        self.inbox = self.sqs.create_queue(QueueName="photopipe-handler-inbox")["QueueUrl"]
        inbox_arn = self.sqs.get_queue_attributes(QueueUrl=self.inbox, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=inbox_arn)
        self.settings = Settings.from_env(
            {
                EnvVar.PROCESSED_BUCKET: PROCESSED,
                EnvVar.ERROR_TOPIC_ARN: self.topic,
                EnvVar.POWERTOOLS_SERVICE_NAME: SERVICE,
                **env,
            }
        )
        self._sequencer = itertools.count(0x62F0A0B0C0D0E0F0)
        self._request = itertools.count(1)

    # ------------------------------------------------------------------ inputs
    def put(self, key: str, data: bytes) -> Upload:
        answer = self.s3.put_object(Bucket=UPLOADS, Key=key, Body=data)
        return Upload(
            key, answer["VersionId"], answer["ETag"].strip('"'), len(data), f"{next(self._sequencer):018X}"
        )

    def remove(self, key: str, version_id: str | None = None) -> Upload:
        """Delete `key` as a user would (a delete marker), or one version for good: what the removal event
        names (the marker's or the deleted version's id, and the next sequencer)."""
        if version_id is None:
            answer = self.s3.delete_object(Bucket=UPLOADS, Key=key)
        else:
            answer = self.s3.delete_object(Bucket=UPLOADS, Key=key, VersionId=version_id)
        return Upload(key, answer.get("VersionId") or "", "", 0, f"{next(self._sequencer):018X}")

    def removal(self, removed: Upload, event_name: str = "ObjectRemoved:DeleteMarkerCreated") -> str:
        """The notification S3 sends for a removal: no size and no ETag."""
        return self.body(removed, event_name, size=None, eTag=None)

    def body(self, upload: Upload, event_name: str = "ObjectCreated:Put", **obj: Any) -> str:
        from urllib.parse import quote_plus

        record = {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": REGION,
            "eventTime": EVENT_TIME,
            "eventName": event_name,
            "s3": {
                "bucket": {"name": UPLOADS, "arn": f"arn:aws:s3:::{UPLOADS}"},
                "object": {
                    "key": quote_plus(upload.key, safe="/"),
                    "size": upload.size,
                    "eTag": upload.etag,
                    "versionId": upload.version_id,
                    "sequencer": upload.sequencer,
                    **obj,
                },
            },
        }
        return json.dumps({"Records": [record]})

    @staticmethod
    def sqs_event(*bodies: tuple[str, str], receive_count: int = 1) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": message_id,
                    "receiptHandle": f"rh-{message_id}",
                    "body": body,
                    "attributes": {"ApproximateReceiveCount": str(receive_count)},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": QUEUE_ARN,
                    "awsRegion": REGION,
                }
                for message_id, body in bodies
            ]
        }

    # ------------------------------------------------------------------ running
    def deps(self, *faults: Callable[[Any], None]) -> Dependencies:
        s3 = session().client("s3", config=ONE_ATTEMPT)
        sns = session().client("sns", config=ONE_ATTEMPT)
        for fault in faults:
            fault(s3)
            fault(sns)
        return Dependencies(s3=s3, sns=sns)

    def invoke(
        self, event: Any, deps: Dependencies | None = None, settings: Settings | None = None
    ) -> Result:
        self.capsys.readouterr()
        response = process_event(
            event,
            InvocationContext(f"req-{next(self._request)}"),
            settings or self.settings,
            deps or self.deps(),
        )
        result = Result(response)
        for line in self.capsys.readouterr().out.splitlines():
            try:
                blob = json.loads(line)
            except ValueError:
                continue
            (result.emf if "_aws" in blob else result.logs).append(blob)
        return result

    # ------------------------------------------------------------------ reading back
    def notifications(self) -> list[dict[str, Any]]:
        found = []
        while batch := self.sqs.receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in batch:
                envelope = json.loads(message["Body"])
                note = json.loads(envelope["Message"])
                note["_attribute"] = envelope.get("MessageAttributes", {}).get("errorType", {}).get("Value")
                found.append(note)
                self.sqs.delete_message(QueueUrl=self.inbox, ReceiptHandle=message["ReceiptHandle"])
        return found

    def renditions(self) -> dict[str, dict[str, Any]]:
        found = {}
        for item in self.s3.list_objects_v2(Bucket=PROCESSED).get("Contents", []):
            got = self.s3.get_object(Bucket=PROCESSED, Key=item["Key"])
            found[item["Key"]] = {
                "data": got["Body"].read(),
                "metadata": got["Metadata"],
                "content_type": got["ContentType"],
                "cache_control": got.get("CacheControl"),
            }
        return found
