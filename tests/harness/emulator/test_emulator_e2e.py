"""The whole pipeline on the embedded local stack: uploads through S3, the built zip run by the local Lambda
runtime, renditions, error notifications, the DLQ and its redrive, metrics, and a destroy that leaves nothing.

One stack for the module (start-up is the slow part); small fixtures and a short visibility keep it quick.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fixtures.generate import fixture_bytes, manifest
from harness.destroy import destroy
from harness.emulator import EmbeddedStack
from harness.emulator.worker import Worker
from harness.metrics import read_metrics
from harness.params import load_template
from harness.redrive import redrive_stack
from tests.support.waiting import wait_for

pytestmark = pytest.mark.emulator

STACK = "photopipe-e2e"
MAX_RECEIVE_COUNT = 2
EMAIL = "ops@example.com"
VALID = ("jpeg-0.3mp", "png-rgba", "gif", "webp")
BAD = ("zero-bytes", "random-bytes-jpg", "jpeg-truncated")
ENTRIES = {entry["name"]: entry for entry in manifest()}


@dataclass
class Pipeline:
    stack: EmbeddedStack
    errors_queue_url: str
    processed: set[str] = field(default_factory=set)  # valid source keys whose renditions exist
    notifications: list[dict[str, Any]] = field(default_factory=list)

    @property
    def s3(self) -> Any:
        return self.stack.session().client("s3")

    @property
    def sqs(self) -> Any:
        return self.stack.session().client("sqs")

    def rendition_keys(self) -> set[str]:
        bucket = self.stack.outputs["ProcessedBucketName"]
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def has_renditions(self, source_key: str) -> bool:
        stem = source_key.rsplit(".", 1)[0]
        keys = self.rendition_keys()
        return all(any(k.startswith(f"{name}/{stem}.") for k in keys) for name in ("large", "thumbnail"))

    def read_notifications(self) -> list[dict[str, Any]]:
        while True:
            answer = self.sqs.receive_message(
                QueueUrl=self.errors_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            messages = answer.get("Messages", [])
            if not messages:
                return self.notifications
            for message in messages:
                self.notifications.append(json.loads(json.loads(message["Body"])["Message"]))
                self.sqs.delete_message(
                    QueueUrl=self.errors_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def queue_depth(self, output: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.stack.outputs[output],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    parameters = {
        "Timeout": "15",
        "MaxReceiveCount": str(MAX_RECEIVE_COUNT),
        "MaximumConcurrency": "2",
        "NotificationEmail": EMAIL,
    }
    workdir = tmp_path_factory.mktemp("local")
    with EmbeddedStack(port=0, stack_name=STACK, parameters=parameters, workdir=workdir) as stack:
        session = stack.session()
        sqs = session.client("sqs")
        url = sqs.create_queue(QueueName="e2e-error-notifications")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        session.client("sns").subscribe(TopicArn=stack.outputs["ErrorTopicArn"], Protocol="sqs", Endpoint=arn)
        yield Pipeline(stack, url)


@pytest.fixture(scope="module")
def uploaded(pipeline: Pipeline) -> Pipeline:
    s3 = pipeline.s3
    bucket = pipeline.stack.outputs["UploadBucketName"]
    for name in VALID + BAD:
        s3.put_object(
            Bucket=bucket, Key=f"photos/{name} 1.{name.rsplit('-', 1)[-1]}", Body=fixture_bytes(name)
        )
    for name in VALID:
        key = f"photos/{name} 1.{name.rsplit('-', 1)[-1]}"
        wait_for(lambda key=key: pipeline.has_renditions(key), f"renditions of {key}")
        pipeline.processed.add(key)
    wait_for(lambda: len(pipeline.read_notifications()) >= len(BAD), "one notification per bad upload")
    wait_for(lambda: pipeline.queue_depth("ProcessingQueueUrl") == 0, "an empty processing queue")
    return pipeline


def test_the_wiring_applies_what_moto_cloudformation_skipped(pipeline: Pipeline) -> None:
    session = pipeline.stack.session()
    outputs = pipeline.stack.outputs
    s3, sqs, cloudwatch = session.client("s3"), session.client("sqs"), session.client("cloudwatch")
    upload = outputs["UploadBucketName"]
    assert s3.get_bucket_versioning(Bucket=upload)["Status"] == "Enabled"
    targets = s3.get_bucket_notification_configuration(Bucket=upload)["QueueConfigurations"]
    assert [(t["QueueArn"], t["Events"]) for t in targets] == [
        (outputs["ProcessingQueueArn"], ["s3:ObjectCreated:*"]),
        (outputs["ProcessingQueueArn"], ["s3:ObjectRemoved:*"]),  # DeletionPropagation=Enabled, the default
    ]
    assert (
        "Policy"
        in sqs.get_queue_attributes(QueueUrl=outputs["ProcessingQueueUrl"], AttributeNames=["Policy"])[
            "Attributes"
        ]
    )
    alarms = {a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    template_alarms = [
        r for r in load_template()["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"
    ]
    assert len({a for a in alarms if a.startswith(f"{STACK}-")}) == len(template_alarms)


def test_an_email_subscription_is_recorded_and_reported_as_not_delivered(pipeline: Pipeline) -> None:
    sns = pipeline.stack.session().client("sns")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=pipeline.stack.outputs["ErrorTopicArn"])
    assert ("email", EMAIL) in {(s["Protocol"], s["Endpoint"]) for s in subscriptions["Subscriptions"]}
    assert any(
        EMAIL in note and "nothing is delivered" in note for note in pipeline.stack.report.wiring.notes
    )


def test_every_valid_upload_has_a_large_and_a_thumbnail_rendition(uploaded: Pipeline) -> None:
    assert all(uploaded.has_renditions(f"photos/{name} 1.{name.rsplit('-', 1)[-1]}") for name in VALID)


def test_every_bad_upload_produced_exactly_one_error_notification_with_its_error_type(
    uploaded: Pipeline,
) -> None:
    notified = [
        (n["key"], n["errorType"]) for n in uploaded.read_notifications() if n["key"].startswith("photos/")
    ]
    expected = [(f"photos/{name} 1.{name.rsplit('-', 1)[-1]}", ENTRIES[name]["error_type"]) for name in BAD]
    assert sorted(notified) == sorted(expected)


def test_the_function_logs_reach_its_log_group(uploaded: Pipeline) -> None:
    uploaded.stack.flush()
    logs = uploaded.stack.session().client("logs")
    group = uploaded.stack.outputs["LogGroupName"]
    events = logs.filter_log_events(logGroupName=group)["events"]
    assert any(event["message"].startswith("REPORT RequestId:") for event in events)


def test_workers_stay_within_the_mappings_maximum_concurrency(uploaded: Pipeline) -> None:
    runtime = uploaded.stack.runtime
    assert runtime is not None
    assert 1 <= runtime.pool.peak <= 2


def test_metrics_count_the_processed_images_and_the_lambda_invocations(uploaded: Pipeline) -> None:
    uploaded.stack.flush()
    report = read_metrics(uploaded.stack.session(), STACK, minutes=30)
    function = uploaded.stack.outputs["FunctionName"]
    assert report.total("ProcessedImages") == len(uploaded.processed)
    assert (report.get("Invocations", "Sum", "AWS/Lambda", FunctionName=function) or 0) >= 1
    assert (report.get("Duration", "Average", "AWS/Lambda", FunctionName=function) or 0) > 0


def _runtime_state(stack: EmbeddedStack) -> dict[str, Any]:
    runtime = stack.runtime
    if runtime is None:
        return {}
    return {
        "invocations": runtime.invocations,
        "errors": runtime.errors,
        "timeouts": runtime.timeouts,
        "throttles": runtime.throttles,
        "failures": runtime.failures,
        "log": [
            e["message"][:300]
            for e in stack.session()
            .client("logs")
            .filter_log_events(logGroupName=stack.outputs["LogGroupName"])["events"][-8:]
        ],
        "in_flight": runtime.pool.in_flight,
        "threads_alive": [t.name for t in runtime._threads if t.is_alive()],
        "workers": stack.worker_stats(),
    }


def _processed_bucket_policy(pipeline: Pipeline, deny_writes: bool) -> None:
    bucket = pipeline.stack.outputs["ProcessedBucketName"]
    s3 = pipeline.s3
    if not deny_writes:
        s3.delete_bucket_policy(Bucket=bucket)
        return
    statement = {
        "Sid": "FaultInjection",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )


def test_a_record_failing_every_time_lands_in_the_dlq_and_redrive_brings_it_back(uploaded: Pipeline) -> None:
    stack = uploaded.stack
    sqs = uploaded.sqs
    queue_url = stack.outputs["ProcessingQueueUrl"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "1"})
    # moto applies the visibility a ReceiveMessage call read when it began: let the poller's current long
    # poll end, so that the upload's receives use the new value.
    runtime = stack.runtime
    assert runtime is not None
    receives = runtime.receives
    wait_for(lambda: runtime.receives >= receives + 2, "a receive that began after the change")
    key = "photos/retried.jpg"
    _processed_bucket_policy(uploaded, deny_writes=True)  # AccessDenied on every write: a transient fault
    try:
        uploaded.s3.put_object(
            Bucket=stack.outputs["UploadBucketName"], Key=key, Body=fixture_bytes("jpeg-2mp")
        )
        wait_for(
            lambda: uploaded.queue_depth("DeadLetterQueueUrl") == 1,
            "the record in the DLQ",
            seen=lambda: {
                "dlq": uploaded.queue_depth("DeadLetterQueueUrl"),
                "queue": uploaded.queue_depth("ProcessingQueueUrl"),
                "runtime": _runtime_state(stack),
            },
        )
        dead = sqs.receive_message(
            QueueUrl=stack.outputs["DeadLetterQueueUrl"], AttributeNames=["ApproximateReceiveCount"]
        )["Messages"][0]
        sqs.change_message_visibility(
            QueueUrl=stack.outputs["DeadLetterQueueUrl"],
            ReceiptHandle=dead["ReceiptHandle"],
            VisibilityTimeout=0,
        )
        assert key.replace("/", "%2F") in dead["Body"] or key in dead["Body"]
        assert not uploaded.has_renditions(key)
        gauge = stack.queue_gauge
        assert gauge is not None
        gauge.sample()  # the minute's sample, now
        stack.flush()
        depth = read_metrics(stack.session(), STACK, minutes=30).get(
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
            "AWS/SQS",
            QueueName=stack.outputs["DeadLetterQueueUrl"].rsplit("/", 1)[-1],
        )
        assert depth == 1, "the DLQ's depth reaches CloudWatch, where its alarm reads it"
    finally:
        _processed_bucket_policy(uploaded, deny_writes=False)
    moved = redrive_stack(stack.session(), STACK)
    assert moved.moved == 1
    wait_for(
        lambda: uploaded.has_renditions(key),
        f"renditions of {key} after the redrive",
        seen=lambda: (uploaded.queue_depth("ProcessingQueueUrl"), sorted(uploaded.rendition_keys())),
    )
    uploaded.processed.add(key)
    wait_for(lambda: uploaded.queue_depth("ProcessingQueueUrl") == 0, "an empty processing queue")


def test_the_function_imports_from_the_built_zip_only(pipeline: Pipeline, tmp_path: Path) -> None:
    """PIL is installed where the harness runs; a zip without it must still fail to import it."""
    stack = pipeline.stack
    runtime = stack.runtime
    assert runtime is not None
    assert stack.report.interpreter is not None
    package = tmp_path / "lacking.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("handler/__init__.py", "")
        archive.writestr(
            "handler/app.py", "import PIL\n\ndef lambda_handler(event, context):\n    return {}\n"
        )
        archive.extractall(tmp_path / "task")
    environment = {**runtime.pool.environment, "LAMBDA_TASK_ROOT": str(tmp_path / "task")}
    worker = Worker(stack.report.interpreter.path, environment, generation=0)
    worker.start()
    worker.stop()
    assert worker.init_error is not None
    assert worker.init_error["errorType"] == "Runtime.ImportModuleError"
    assert "PIL" in worker.init_error["errorMessage"]


def test_the_running_function_is_the_zip_that_was_built_and_deployed(pipeline: Pipeline) -> None:
    runtime = pipeline.stack.runtime
    assert runtime is not None
    task_root = Path(runtime.pool.environment["LAMBDA_TASK_ROOT"])
    package = pipeline.stack.report.package
    assert package is not None
    with zipfile.ZipFile(package) as archive:
        assert (task_root / "handler" / "app.py").read_bytes() == archive.read("handler/app.py")


def test_destroy_leaves_nothing_of_the_stack(uploaded: Pipeline) -> None:
    """Last in the module: it deletes the stack the other tests use."""
    session = uploaded.stack.session()
    outputs = uploaded.stack.outputs
    destroy(session=session, stack_name=STACK)
    stacks = session.client("cloudformation").list_stacks()["StackSummaries"]
    assert all(s["StackStatus"] == "DELETE_COMPLETE" for s in stacks if s["StackName"] == STACK)
    buckets = {b["Name"] for b in session.client("s3").list_buckets()["Buckets"]}
    assert not buckets & {outputs["UploadBucketName"], outputs["ProcessedBucketName"]}
    queues = session.client("sqs").list_queues().get("QueueUrls", [])
    assert not [q for q in queues if STACK in q]
    functions = session.client("lambda").list_functions()["Functions"]
    assert not [f for f in functions if f["FunctionName"] == outputs["FunctionName"]]
    topics = [t["TopicArn"] for t in session.client("sns").list_topics()["Topics"]]
    assert not [t for t in topics if STACK in t]
