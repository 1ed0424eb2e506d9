"""Injected AWS faults never lose a photo and never change a rendition's bytes.

A small poller drives the handler from a real (moto) SQS queue with a redrive policy, as the event source
mapping does: successes are deleted, batch item failures stay and come back with a higher receive count, and
moto's SQS moves a message to the DLQ once it has been received MaxReceiveCount times. Faults are injected on
the handler's own clients (tests/support/faults.py). For each fault: a passing fault gives a batch item
failure and then renditions identical to a clean run's; a lasting fault ends with the message in the DLQ and
one RetriesExhausted notification.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from moto import mock_aws

from fixtures.event_cases import REGION, body_for, photo
from handler.app import Dependencies
from handler.constants import DEFAULT_MAX_RECEIVE_COUNT
from handler.errors import ErrorType
from harness.emulator.runtime import sqs_record
from tests.support.faults import LOST_ANSWER, ONE_OF_EACH, THROTTLING, Fault
from tests.support.world import NO_RETRIES, QUEUE_ARN, UPLOAD_BUCKET, MotoWorld, aws_credentials

KEY = "albums/faulty/photo.jpg"


class Killed(BaseException):
    """The runtime stopping the function mid-batch (a timeout): not an Exception, so no handler catches it."""


class Poller:
    """The event source mapping, reduced to what these tests need: receive, invoke, delete the successes."""

    def __init__(self, world: MotoWorld, max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT) -> None:
        self.world = world
        sqs = world.sqs
        self.dlq_url = sqs.create_queue(QueueName="photopipe-test-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
        self.queue_url = sqs.create_queue(
            QueueName="photopipe-test-processing",
            Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(redrive)},
        )["QueueUrl"]
        self.receive_counts: list[int] = []
        self.failures = 0
        self.killed = 0

    def send(self, body: str) -> None:
        self.world.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    def run(self, deps: Dependencies, *, rounds: int = 12) -> None:
        sqs = self.world.sqs
        for _ in range(rounds):
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
            ).get("Messages", [])
            if not messages:
                return
            event = {"Records": [sqs_record(m, QUEUE_ARN, REGION) for m in messages]}
            self.receive_counts += [int(m["Attributes"]["ApproximateReceiveCount"]) for m in messages]
            try:
                failed = set(self.world.invoke(event, deps=deps).failed_ids)
            except Killed:
                # What Lambda does to a timed-out invocation: no response, so no record is deleted and the
                # whole batch comes back once its visibility timeout ends (here at once).
                self.killed += 1
                failed = {m["MessageId"] for m in messages}
            self.failures += len(failed)
            for m in messages:
                if m["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def depth(self, url: str) -> int:
        attributes = self.world.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


@pytest.fixture
def world() -> Iterator[MotoWorld]:
    with aws_credentials(), mock_aws():
        yield MotoWorld()


@pytest.fixture(scope="module")
def clean_renditions() -> dict[str, bytes]:
    """The renditions of the photo when nothing goes wrong: what every faulty run must end up with."""
    with aws_credentials(), mock_aws():
        world = MotoWorld()
        poller = Poller(world)
        poller.send(body_for(world.put(KEY, photo(3)), UPLOAD_BUCKET))
        poller.run(world.dependencies())
        renditions = {key: data for key, (data, _) in world.renditions().items()}
    assert len(renditions) == 2
    return renditions


S3_OPERATIONS = ("GetObject", "HeadObject", "PutObject")
S3_FAULTS = [(operation, kind) for operation in S3_OPERATIONS for kind in ONE_OF_EACH]
S3_FAULTS.append(("PutObject", LOST_ANSWER))


@pytest.mark.parametrize(("operation", "kind"), S3_FAULTS, ids=[f"{o}-{k}" for o, k in S3_FAULTS])
def test_a_passing_s3_fault_is_retried_into_identical_renditions(
    world: MotoWorld, clean_renditions: dict[str, bytes], operation: str, kind: str
) -> None:
    fault = Fault(operation, kind, strikes={1})
    poller = Poller(world)
    poller.send(body_for(world.put(KEY, photo(3)), UPLOAD_BUCKET))

    poller.run(world.dependencies(fault))

    assert fault.struck == 1
    assert poller.failures == 1, "the faulty attempt is a batch item failure"
    assert poller.receive_counts == [1, 2], "retried once, then done"
    assert {k: d for k, (d, _) in world.renditions().items()} == clean_renditions
    assert world.notifications() == []
    assert poller.depth(poller.queue_url) == poller.depth(poller.dlq_url) == 0


def test_a_fault_on_the_second_rendition_rewrites_the_first_with_the_same_bytes(
    world: MotoWorld, clean_renditions: dict[str, bytes]
) -> None:
    fault = Fault("PutObject", THROTTLING, strikes={2})
    poller = Poller(world)
    poller.send(body_for(world.put(KEY, photo(3)), UPLOAD_BUCKET))

    poller.run(world.dependencies(fault))

    assert (fault.struck, poller.failures) == (1, 1)
    assert {k: d for k, (d, _) in world.renditions().items()} == clean_renditions


# A write whose answer is lost every time has still written: the retry finds every rendition current.
LASTING_S3_FAULTS = [fault for fault in S3_FAULTS if fault != ("PutObject", LOST_ANSWER)]


@pytest.mark.parametrize(
    ("operation", "kind"), LASTING_S3_FAULTS, ids=[f"{o}-{k}" for o, k in LASTING_S3_FAULTS]
)
def test_a_lasting_s3_fault_ends_in_the_dlq_with_one_notification(
    world: MotoWorld, clean_renditions: dict[str, bytes], operation: str, kind: str
) -> None:
    fault = Fault(operation, kind)
    poller = Poller(world)
    stored = world.put(KEY, photo(3))
    poller.send(body_for(stored, UPLOAD_BUCKET))

    poller.run(world.dependencies(fault))

    assert poller.receive_counts == list(range(1, DEFAULT_MAX_RECEIVE_COUNT + 1))
    assert poller.depth(poller.queue_url) == 0
    assert poller.depth(poller.dlq_url) == 1, "the message is kept in the DLQ for a redrive"
    [note] = world.notifications()
    assert note["errorType"] == ErrorType.RETRIES_EXHAUSTED
    assert (note["bucket"], note["key"], note["versionId"]) == (UPLOAD_BUCKET, KEY, stored.version_id)
    left = {k: d for k, (d, _) in world.renditions().items()}
    assert all(clean_renditions[k] == d for k, d in left.items()), "whatever was written is the right bytes"


def test_writes_whose_answers_are_always_lost_are_found_current_by_the_retry(
    world: MotoWorld, clean_renditions: dict[str, bytes]
) -> None:
    fault = Fault("PutObject", LOST_ANSWER)
    poller = Poller(world)
    poller.send(body_for(world.put(KEY, photo(3)), UPLOAD_BUCKET))

    poller.run(world.dependencies(fault))

    assert poller.receive_counts == [1, 2], (
        "the retry sees the same upload's renditions with the same settings"
    )
    assert {k: d for k, (d, _) in world.renditions().items()} == clean_renditions
    assert world.notifications() == []
    assert poller.depth(poller.queue_url) == poller.depth(poller.dlq_url) == 0


REJECTED = b"this is not an image"


@pytest.mark.parametrize("kind", ONE_OF_EACH)
def test_a_failed_rejection_notice_is_retried_and_sent_once(world: MotoWorld, kind: str) -> None:
    fault = Fault("Publish", kind, strikes={1})
    poller = Poller(world)
    poller.send(body_for(world.put("albums/not-a-photo.jpg", REJECTED), UPLOAD_BUCKET))

    poller.run(world.dependencies(fault))

    assert (fault.struck, poller.failures) == (1, 1)
    notes = world.notifications()
    assert [n["errorType"] for n in notes] == [ErrorType.NOT_AN_IMAGE]
    assert poller.depth(poller.queue_url) == poller.depth(poller.dlq_url) == 0


def test_when_sns_never_answers_the_record_still_reaches_the_dlq(world: MotoWorld) -> None:
    fault = Fault("Publish", THROTTLING)
    poller = Poller(world)
    poller.send(body_for(world.put("albums/not-a-photo.jpg", REJECTED), UPLOAD_BUCKET))

    poller.run(world.dependencies(fault))

    assert poller.receive_counts == list(range(1, DEFAULT_MAX_RECEIVE_COUNT + 1))
    assert poller.depth(poller.dlq_url) == 1, "not notified, but not lost: the DLQ holds it"
    assert world.notifications() == []


def test_an_invocation_killed_mid_batch_loses_nothing(
    world: MotoWorld, clean_renditions: dict[str, bytes]
) -> None:
    """The function times out after writing some renditions of a batch: every message comes back, every
    photo ends processed, and what was written before the kill is rewritten with the same bytes."""
    poller = Poller(world)
    keys = ["albums/batch/a.jpg", "albums/batch/b.jpg", KEY]
    for key in keys:
        poller.send(body_for(world.put(key, photo(3)), UPLOAD_BUCKET))
    s3 = world.session.client("s3", config=NO_RETRIES)
    writes = {"n": 0}

    def kill_on_third_write(**_: object) -> None:
        writes["n"] += 1
        if writes["n"] == 3:
            raise Killed

    s3.meta.events.register_first("before-call.s3.PutObject", kill_on_third_write)
    deps = Dependencies(s3=s3, sns=world.session.client("sns", config=NO_RETRIES))

    poller.run(deps)

    assert poller.killed == 1
    assert poller.depth(poller.queue_url) == poller.depth(poller.dlq_url) == 0
    renditions = {k: d for k, (d, _) in world.renditions().items()}
    assert len(renditions) == 2 * len(keys), "every photo of the batch was processed"
    for key in keys:
        for name in ("large", "thumbnail"):
            assert renditions[f"{name}/{key}"] == clean_renditions[f"{name}/{KEY}"], "same bytes"
    assert world.notifications() == []
