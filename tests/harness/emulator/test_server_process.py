"""The moto server in its own process: it answers as moto does (the speedups change no answer), its CPU
ledger counts each operation, and stopping it ends the process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import psutil
import pytest

from harness.emulator.ledger import operation_of
from harness.emulator.server import ACCESS_KEY, SECRET_KEY, MotoServer
from loadtests.cpu import read_ledger

REGION = "us-west-2"


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    moto = MotoServer(0)
    moto.start()
    yield moto
    moto.stop()


def _client(server: MotoServer, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def test_queue_depth_counts_visible_in_flight_and_delayed_messages_apart(server: MotoServer) -> None:
    sqs = _client(server, "sqs")
    url = sqs.create_queue(QueueName="depths")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"visible {n}")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)

    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    names.append("ApproximateNumberOfMessagesDelayed")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]

    assert attributes == {
        "ApproximateNumberOfMessages": "2",
        "ApproximateNumberOfMessagesNotVisible": "1",
        "ApproximateNumberOfMessagesDelayed": "1",
    }


def test_a_message_received_too_often_moves_to_the_dead_letter_queue(server: MotoServer) -> None:
    sqs = _client(server, "sqs")
    dlq = sqs.create_queue(QueueName="redrive-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "2"}}'
    url = sqs.create_queue(QueueName="redrive", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")

    counts = []
    for _ in range(3):
        got = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, AttributeNames=["All"]).get(
            "Messages", []
        )
        counts += [m["Attributes"]["ApproximateReceiveCount"] for m in got]

    assert counts == ["1", "2"]
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=dlq).get("Messages", [])] == ["poison"]


def test_the_ledger_counts_the_cpu_of_each_operation(server: MotoServer) -> None:
    s3 = _client(server, "s3")
    s3.create_bucket(Bucket="ledger-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="ledger-bucket", Key="a.jpg", Body=b"x" * 100_000)
    read_ledger(server.endpoint_url, reset=True)

    for _ in range(3):
        s3.head_object(Bucket="ledger-bucket", Key="a.jpg")

    ledger = read_ledger(server.endpoint_url)
    assert ledger["s3 HeadObject"]["calls"] == 3
    assert ledger["s3 HeadObject"]["cpu_s"] > 0
    assert "s3 PutObject" not in ledger, "reset forgets what came before"


@pytest.mark.parametrize(
    ("environ", "operation"),
    [
        ({"HTTP_X_AMZ_TARGET": "AmazonSQS.ReceiveMessage"}, "sqs ReceiveMessage"),
        ({"PATH_INFO": "/service/GraniteServiceVersion20100801/operation/PutMetricData"}, "s3 PutMetricData"),
        ({"REQUEST_METHOD": "PUT", "PATH_INFO": "/bucket/a/b.jpg"}, "s3 PutObject"),
        ({"REQUEST_METHOD": "HEAD", "PATH_INFO": "/bucket/a.jpg"}, "s3 HeadObject"),
        (
            {"REQUEST_METHOD": "GET", "PATH_INFO": "/bucket", "QUERY_STRING": "list-type=2"},
            "s3 ListObjectsV2",
        ),
        ({"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "Action=Publish"}, "s3 Publish"),
    ],
)
def test_an_operation_is_named_from_where_its_protocol_puts_it(
    environ: dict[str, str], operation: str
) -> None:
    signed = {
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=testing/20261201/us-west-2/s3/aws4_request, x"
    }
    if "HTTP_X_AMZ_TARGET" in environ:
        signed["HTTP_AUTHORIZATION"] = signed["HTTP_AUTHORIZATION"].replace("/s3/", "/sqs/")
    assert operation_of({**signed, **environ}) == operation


def test_stopping_the_server_ends_its_process() -> None:
    moto = MotoServer(0)
    moto.start()
    pid = moto.pid
    assert pid is not None
    assert psutil.pid_exists(pid)

    moto.stop()

    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_server_whose_starter_died_stops_by_itself() -> None:
    import subprocess
    import sys
    import time

    start = "from harness.emulator.server import MotoServer; m = MotoServer(0); m.start(); print(m.pid)"
    starter = subprocess.run(
        [sys.executable, "-c", start], capture_output=True, text=True, timeout=60, check=True
    )
    pid = int(
        starter.stdout
    )  # it was serving (start() returns once it listens); its starter never stopped it

    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.2)

    assert not psutil.pid_exists(pid)
