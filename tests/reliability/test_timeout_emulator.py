"""A function that times out mid-batch in the local Lambda runtime loses nothing.

The local stack runs the built zip in worker processes with the function's timeout. One photo of a batch is
made slow by a test double of the function's entry module (it wraps the real `handler.app` and sleeps inside
the decode when the photo carries a marker comment), so the runtime kills the worker mid-batch. SQS then hands
every message of the batch back after its visibility timeout; each photo ends with its renditions or, after
MaxReceiveCount receives, in the dead-letter queue, and the slow one in the DLQ. (A batch-mate processed in a
killed invocation is dead-lettered too: its message was never deleted. Its renditions exist, and a redrive
rewrites them with the same bytes.)

The template only offers timeouts from 15 s (and a visibility timeout of 6 x timeout + 300 s), so after the
deploy the test shortens both on the running stack, as an operator could: a timeout 3 s above the handler's
time guard at the function's memory size (records are handed back when less time than the guard remains, so
a shorter timeout would process nothing) and a visibility timeout still longer than an invocation can last
(timeout + batching window), so no message is handed out twice at once.
"""

from __future__ import annotations

import io
import json
import math
import os
import textwrap
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from PIL import Image

from fixtures.event_cases import photo
from handler import capacity
from harness.emulator import EmbeddedStack
from harness.outputs import StackOutput

pytestmark = pytest.mark.emulator

SLOW_MARK = b"photopipe-test:slow"
MEMORY_MB = 1769  # the template's default MemorySize
TIMEOUT_S = math.ceil(capacity.min_remaining_ms(MEMORY_MB) / 1000) + 3
BATCHING_WINDOW_S = 2
VISIBILITY_S = TIMEOUT_S + BATCHING_WINDOW_S + 1
MAX_RECEIVE_COUNT = 3
# Not an assertion on timing: how long the test waits for the stack to settle before it reports what it saw.
SETTLE_LIMIT_S = 150

WRAPPER_INIT = """
import os
__path__.append(os.path.join(os.environ["_PHOTOPIPE_TEST_REAL_TASK_ROOT"], "handler"))
"""
WRAPPER_APP = """
import importlib.util, os, sys, time

_REAL_ROOT = os.environ["_PHOTOPIPE_TEST_REAL_TASK_ROOT"]
sys.path.insert(1, _REAL_ROOT)
_spec = importlib.util.spec_from_file_location(
    "handler._real_app", os.path.join(_REAL_ROOT, "handler", "app.py")
)
_real = importlib.util.module_from_spec(_spec)
sys.modules["handler._real_app"] = _real
_spec.loader.exec_module(_real)
_make_renditions = _real.make_renditions
_MARK = os.environ["_PHOTOPIPE_TEST_SLOW_MARK"].encode()


def _slow_make_renditions(data, *args, **kwargs):
    if _MARK in data:
        time.sleep(3600)  # the runtime kills the worker at the function's timeout long before this ends
    return _make_renditions(data, *args, **kwargs)


_real.make_renditions = _slow_make_renditions
lambda_handler = _real.lambda_handler
"""


def _slow_photo() -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(photo(5))).save(buffer, format="JPEG", quality=80, comment=SLOW_MARK)
    return buffer.getvalue()


def _task_root_double(root: Path) -> Path:
    (root / "handler").mkdir(parents=True)
    (root / "handler" / "__init__.py").write_text(textwrap.dedent(WRAPPER_INIT))
    (root / "handler" / "app.py").write_text(textwrap.dedent(WRAPPER_APP))
    return root


def _dlq_keys(sqs: Any, url: str) -> list[str]:
    keys = []
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0)
    for message in answer.get("Messages", []):
        for record in json.loads(message["Body"]).get("Records", []):
            keys.append(unquote_plus(record["s3"]["object"]["key"]))
    return keys


def test_a_timeout_mid_batch_brings_every_message_back(tmp_path: Path) -> None:
    workdir = tmp_path / "local"
    double = _task_root_double(tmp_path / "task")
    overrides = {
        "LAMBDA_TASK_ROOT": str(double),
        "_PHOTOPIPE_TEST_REAL_TASK_ROOT": str(workdir / "function"),
        "_PHOTOPIPE_TEST_SLOW_MARK": SLOW_MARK.decode(),
    }
    parameters = {
        "MaxReceiveCount": str(MAX_RECEIVE_COUNT),
        "BatchSize": "10",
        "MaximumBatchingWindow": str(BATCHING_WINDOW_S),
        "MaximumConcurrency": "2",
        "ReservedConcurrency": "2",
        "MemorySize": str(MEMORY_MB),
    }
    good = [f"albums/timeout/photo-{n}.jpg" for n in range(3)]
    slow = "albums/timeout/slow.jpg"
    with EmbeddedStack(
        port=0,
        stack_name="photopipe-timeout",
        parameters=parameters,
        workdir=workdir,
        environment_overrides=overrides,
    ) as stack:
        session = stack.session()
        s3, sqs, lam = session.client("s3"), session.client("sqs"), session.client("lambda")
        outputs = stack.outputs
        function = outputs[StackOutput.FUNCTION_NAME]
        lam.update_function_configuration(FunctionName=function, Timeout=TIMEOUT_S)
        sqs.set_queue_attributes(
            QueueUrl=outputs[StackOutput.PROCESSING_QUEUE_URL],
            Attributes={"VisibilityTimeout": str(VISIBILITY_S)},
        )
        runtime = stack.runtime
        assert runtime is not None
        deadline = time.monotonic() + 30  # the runtime re-reads the function's configuration every 2 s
        while runtime.function.timeout_s != TIMEOUT_S and time.monotonic() < deadline:
            time.sleep(0.5)
        assert runtime.function.timeout_s == TIMEOUT_S, "the local runtime did not take the new timeout"

        upload = outputs[StackOutput.UPLOAD_BUCKET]
        processed = outputs[StackOutput.PROCESSED_BUCKET]
        for key in good:
            s3.put_object(Bucket=upload, Key=key, Body=photo(5))
        s3.put_object(Bucket=upload, Key=slow, Body=_slow_photo())

        def settled() -> tuple[set[str], list[str]]:
            listed = s3.list_objects_v2(Bucket=processed, Prefix="thumbnail/albums/timeout/").get(
                "Contents", []
            )
            done = {item["Key"].removeprefix("thumbnail/") for item in listed}
            return done, _dlq_keys(sqs, outputs[StackOutput.DEAD_LETTER_QUEUE_URL])

        deadline = time.monotonic() + SETTLE_LIMIT_S
        done, dead = settled()
        while time.monotonic() < deadline and not (
            slow in dead and all(k in done or k in dead for k in good)
        ):
            time.sleep(1)
            done, dead = settled()
        timeouts = runtime.timeouts
        figures = os.environ.get("PHOTOPIPE_RELIABILITY_FIGURES")
        if figures:
            with open(figures, "a") as out:
                row = {
                    "case": "local-runtime-timeout",
                    "timeouts": timeouts,
                    "invocations": runtime.invocations,
                }
                row |= {"processed": sorted(done), "dead_lettered": sorted(dead)}
                out.write(json.dumps(row) + "\n")

    assert timeouts >= 1, "the slow photo's invocation was killed at the timeout"
    assert slow in dead, "the photo that always times out ends in the DLQ"
    assert slow not in done
    lost = [key for key in good if key not in done and key not in dead]
    assert lost == [], "every other photo of the batch came back and was processed (or dead-lettered)"
