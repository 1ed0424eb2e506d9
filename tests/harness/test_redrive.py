from __future__ import annotations

import io
from typing import Any

import boto3
from rich.console import Console

from harness.redrive import move_messages, redrive


def _queues(session: boto3.Session) -> tuple[Any, str, str]:
    sqs = session.client("sqs")
    dlq = sqs.create_queue(QueueName="pipeline-dlq")["QueueUrl"]
    queue = sqs.create_queue(QueueName="pipeline-queue")["QueueUrl"]
    return sqs, dlq, queue


def _count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_the_loop_moves_every_message_and_returns_the_count(session: boto3.Session) -> None:
    sqs, dlq, queue = _queues(session)
    for index in range(23):
        sqs.send_message(QueueUrl=dlq, MessageBody=f'{{"n": {index}}}')

    moved = move_messages(sqs, dlq, queue, limit=23, wait_seconds=0, empty_receives=1)

    assert moved == 23
    assert _count(sqs, dlq) == 0
    assert _count(sqs, queue) == 23


def test_the_loop_keeps_bodies_and_message_attributes(session: boto3.Session) -> None:
    sqs, dlq, queue = _queues(session)
    sqs.send_message(
        QueueUrl=dlq,
        MessageBody="the s3 event",
        MessageAttributes={"errorType": {"DataType": "String", "StringValue": "RetriesExhausted"}},
    )

    move_messages(sqs, dlq, queue, limit=1, wait_seconds=0, empty_receives=1)

    message = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"][0]
    assert message["Body"] == "the s3 event"
    assert message["MessageAttributes"]["errorType"]["StringValue"] == "RetriesExhausted"


def test_the_loop_moves_no_more_than_its_limit(session: boto3.Session) -> None:
    sqs, dlq, queue = _queues(session)
    for index in range(5):
        sqs.send_message(QueueUrl=dlq, MessageBody=str(index))

    assert move_messages(sqs, dlq, queue, limit=3, wait_seconds=0, empty_receives=1) == 3
    assert _count(sqs, queue) == 3


def test_redrive_falls_back_to_the_loop_where_message_move_tasks_are_missing(session: boto3.Session) -> None:
    sqs, dlq, queue = _queues(session)
    for index in range(4):
        sqs.send_message(QueueUrl=dlq, MessageBody=str(index))
    arn = "arn:aws:sqs:us-west-2:123456789012:"

    result = redrive(
        session,
        source_url=dlq,
        destination_url=queue,
        source_arn=arn + "pipeline-dlq",
        destination_arn=arn + "pipeline-queue",
        console=Console(file=io.StringIO()),
    )

    assert result.moved == 4
    assert result.method == "receive-send-delete"
