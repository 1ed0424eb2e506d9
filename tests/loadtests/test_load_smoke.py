"""The load profile end to end in seconds: a Locust master and two workers headless against the local stack.

Proves the wiring (uploads on the workers, accounting on the master), the report files, and the exit codes:
0 when every photo is accounted for (deleted photos without a rendition left, re-uploaded ones with renditions
of their newest upload), 1 when one is never processed, 2 when the run is refused up front; and that the
watcher times each photo's completion to within half a second even behind a backlog.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fixtures.generate import fixture_bytes
from harness.emulator import EmbeddedStack
from harness.outputs import StackOutput
from loadtests.accounting import Upload
from loadtests.layout import read_layout
from loadtests.watcher import Tracker

pytestmark = pytest.mark.emulator
ROOT = Path(__file__).resolve().parents[2]
STACK = "photopipe-loadsmoke"
SMOKE = [
    *("--shape", "steady", "--rate", "4", "--duration", "3", "--mix", "smoke", "--workers", "2"),
    *("--uploaders", "2", "--album-users", "1", "--album-size", "2", "--album-share", "0.25"),
    *("--delete-share", "0.3", "--reupload-share", "0.3", "--lifecycle-delay", "1"),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    workdir = tmp_path_factory.mktemp("loadsmoke-stack")
    with EmbeddedStack(
        port=0, stack_name=STACK, parameters={"MaximumConcurrency": "2"}, workdir=workdir
    ) as local:
        yield local


def _env(endpoint: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-west-2")
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def _run(args: list[str], endpoint: str | None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loadtests.run", *args],
        cwd=ROOT,
        env=_env(endpoint),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _report(directory: Path) -> dict[str, object]:
    return dict(json.loads((directory / "report.json").read_text()))


def test_a_smoke_run_accounts_for_every_photo_and_exits_0(stack: EmbeddedStack, tmp_path: Path) -> None:
    done = _run(
        [*SMOKE, "--stack-name", STACK, "--e2e-timeout", "60", "--report-dir", str(tmp_path)],
        stack.endpoint_url,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data = _report(tmp_path)
    counts = data["accounting"]["counts"]  # type: ignore[index]
    assert counts["uploads"] >= 8
    assert counts["lost"] == 0
    assert counts["processed"] + counts["rejected"] + counts["deleted"] == counts["uploads"]
    records = [json.loads(line) for line in (tmp_path / "uploads.jsonl").read_text().splitlines()]
    assert len({record["worker"] for record in records}) == 2  # uploads from both workers, accounting here
    fates = [record["then"] for record in records]
    lifecycle = data["lifecycle"]["counts"]  # type: ignore[index]
    assert lifecycle["deleted"] == fates.count("delete")
    assert lifecycle["leftovers"] == 0  # every deleted photo lost its renditions
    assert lifecycle["reuploaded"] == fates.count("reupload")
    assert lifecycle["stale"] == 0  # every replaced photo's renditions come from its newest upload
    drift = data["drift"]  # reconcile's survey of the buckets once the run has drained
    assert drift["drift"] is False, drift  # type: ignore[index]
    assert drift["counts"]["rejected"] == counts["rejected"]  # type: ignore[index]
    types = {row["type"] for row in data["locust"]}  # type: ignore[attr-defined]
    assert types == {"S3 PUT", "E2E"} | ({"S3 DELETE"} if "delete" in fates else set())
    for name in ("report.md", "report.png", "locust.html"):
        assert (tmp_path / name).stat().st_size > 0
    assert "photopipe load steady PASS" in done.stdout


def test_the_console_shows_the_panel_and_the_summary_and_leaves_locusts_tables_to_the_log(
    stack: EmbeddedStack, tmp_path: Path
) -> None:
    done = _run([*SMOKE, "--stack-name", STACK, "--report-dir", str(tmp_path)], stack.endpoint_url)
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    assert "lost so far" in done.stdout  # the panel's last frame (a terminal redraws it in place)
    assert "photopipe load steady" in done.stdout
    assert "Aggregated" not in done.stdout + done.stderr  # Locust's periodic table
    assert "Aggregated" in (tmp_path / "run.log").read_text()
    assert len(done.stdout.splitlines()) < 40


PRECISION_S = 0.5
BACKLOG_PHOTOS = 40


def _processed_log_times(stack: EmbeddedStack) -> dict[str, float]:
    """Source key -> when the handler logged "processed" (after its last rendition write returned), from
    the function's CloudWatch log group: an upper bound of the photo's completion, on the handler's clock."""
    stack.flush()
    assert stack.runtime is not None
    logs = stack.session().client("logs")
    found: dict[str, float] = {}
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=stack.runtime.function.log_group)
    for page in pages:
        for event in page["events"]:
            if not event["message"].startswith("{"):
                continue
            line: dict[str, Any] = json.loads(event["message"])
            if line.get("message") == "processed":
                stamp = datetime.fromisoformat(line["timestamp"]).timestamp()
                found[line["key"]] = stamp
    return found


def test_completion_is_timed_to_half_a_second_behind_a_backlog(stack: EmbeddedStack) -> None:
    """40 photos uploaded at once into 2 concurrent invocations queue for seconds, and the watcher finds
    many of them well after they were done; it still times each one between the start of its rendition
    writes (the stamp) and the handler's "processed" log line, which it writes once they are done."""
    session = stack.session()
    layout = read_layout(session.client("lambda"), stack.outputs[StackOutput.FUNCTION_NAME])
    tracker = Tracker(
        s3=session.client("s3"),
        sqs=session.client("sqs"),
        sns=session.client("sns"),
        outputs=stack.outputs,
        rendition_keys=layout.keys,
        run_id="precision",
        timeout=120,
    )
    s3 = session.client("s3")
    body = fixture_bytes("jpeg-2mp")
    for n in range(BACKLOG_PHOTOS):
        key = f"loadtest/precision/{n:02d}.jpg"
        started = time.time()
        s3.put_object(Bucket=stack.outputs["UploadBucketName"], Key=key, Body=body)
        tracker.add(Upload(key, "", "jpeg-2mp", "processed", len(body), started, time.time(), True))
    found_at: dict[str, float] = {}
    deadline = time.time() + 120
    while tracker.pending() and time.time() < deadline:
        now = time.time()
        for upload in tracker.due(now):
            if tracker.check(upload, now):
                found_at[upload.key] = now
        time.sleep(0.1)

    logged = _processed_log_times(stack)
    assert set(tracker.resolutions) == set(tracker.uploads), "every photo resolved"
    late_finds = [k for k, r in tracker.resolutions.items() if found_at[k] - r.at > PRECISION_S]
    assert len(late_finds) >= BACKLOG_PHOTOS // 4, (
        "the time of the look alone would have missed the precision"
    )
    assert tracker.looked == 0, "every completion time comes from a rendition's stamp"
    # A few looks per photo and one HEAD per further rendition; a poll every quarter second over the
    # backlog's 10-20 s would be 40-80 HEADs per photo.
    assert tracker.heads < 8 * BACKLOG_PHOTOS, "a few HEADs per photo, not a poll every quarter second"
    for key, resolution in tracker.resolutions.items():
        assert resolution.outcome == "processed"
        assert resolution.at <= logged[key] <= resolution.at + PRECISION_S, key


def test_a_photo_the_pipeline_never_sees_fails_the_run_with_exit_1(
    stack: EmbeddedStack, tmp_path: Path
) -> None:
    args = [
        *SMOKE,
        "--stack-name",
        STACK,
        "--misdirect",
        "1",
        "--e2e-timeout",
        "5",
        "--report-dir",
        str(tmp_path),
    ]
    done = _run([*args, "--json"], stack.endpoint_url)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    accounting = json.loads(done.stdout)["accounting"]  # --json: the report alone on stdout
    assert len(accounting["lost"]) == 2  # one per worker
    assert accounting["verdicts"]["no photo lost"] is False
    assert accounting == _report(tmp_path)["accounting"]


def test_a_mix_that_does_not_sum_to_one_is_refused_before_any_load(tmp_path: Path) -> None:
    done = _run(["--mix", "jpeg-0.3mp=0.5,heic=0.4", "--report-dir", str(tmp_path / "r")], None)
    assert done.returncode == 2
    assert "sum to 0.9, not 1" in done.stderr
    assert not (tmp_path / "r").exists()


def test_an_endpoint_that_does_not_answer_is_refused(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = _run(["--stack-name", STACK, "--report-dir", str(tmp_path)], f"http://127.0.0.1:{port}")
    assert done.returncode == 2
    assert "does not answer" in done.stderr


def test_an_unknown_stack_is_refused_by_name(stack: EmbeddedStack, tmp_path: Path) -> None:
    done = _run(["--stack-name", "no-such-stack", "--report-dir", str(tmp_path)], stack.endpoint_url)
    assert done.returncode == 2
    assert "'no-such-stack' does not exist" in done.stderr


def test_an_unknown_region_is_refused_before_any_call(tmp_path: Path) -> None:
    done = _run(["--stack-name", STACK, "--region", "mars-north-1", "--report-dir", str(tmp_path)], None)
    assert done.returncode == 2
    assert "'mars-north-1' is not an AWS region" in done.stderr
