"""`photopipe local` as a person sees it: the endpoint and the outputs on one screen, then one line per photo;
the deploy's tables in the log file."""

from __future__ import annotations

import argparse
import re
import threading
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from fixtures.generate import fixture_bytes
from harness.emulator.command import LOG_NAME, add_arguments, run
from tests.support.waiting import wait_for

pytestmark = pytest.mark.emulator

SCREEN_LINES = 30
WAIT_S = 90.0


def _args(workdir: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["--port", "0", "--stack-name", "photopipe-console", "--workdir", str(workdir)])


def _wait_for(read: Callable[[], str], pattern: str) -> re.Match[str]:
    return wait_for(
        lambda: re.search(pattern, read(), re.MULTILINE), repr(pattern), timeout=WAIT_S, seen=read
    )


def test_local_fits_on_one_screen_then_prints_one_line_per_photo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    printed: list[str] = []

    def read() -> str:
        printed.append(capsys.readouterr().out)
        return "".join(printed)

    stop = threading.Event()
    runner = threading.Thread(target=run, args=(_args(tmp_path),), kwargs={"stop": stop})
    runner.start()
    try:
        endpoint = _wait_for(read, r"on (http://127\.0\.0\.1:\d+) ").group(1)
        _wait_for(read, r"One line per photo follows")
        before_photos = read().count("\n")
        bucket = _wait_for(read, r"^\s+UploadBucketName\s+(\S+)$").group(1)
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-west-2",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.put_object(Bucket=bucket, Key="albums/first.jpg", Body=fixture_bytes("jpeg-0.3mp"))
        s3.put_object(Bucket=bucket, Key="albums/not-a-photo.jpg", Body=fixture_bytes("random-bytes-jpg"))

        _wait_for(read, r"^processed albums/first\.jpg: large \d+x\d+, thumbnail \d+x\d+$")
        _wait_for(read, r"^rejected albums/not-a-photo\.jpg: NotAnImage ")
    finally:
        stop.set()
        runner.join(timeout=60)

    assert before_photos <= SCREEN_LINES
    screen = read()
    assert "┏" not in screen, "the deploy's change-set table belongs in the log file"
    log = (tmp_path / LOG_NAME).read_text(encoding="utf-8")
    assert "ProcessingFunction" in log
    assert "CREATE_COMPLETE" in log
