"""The load profile end to end in seconds: a Locust master and two workers headless against the local stack.

Proves the wiring (uploads on the workers, accounting on the master), the report files, and the exit codes:
0 when every photo is accounted for, 1 when one is never processed, 2 when the run is refused up front.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.localstack import LocalStack

pytestmark = pytest.mark.localstack
ROOT = Path(__file__).resolve().parents[2]
STACK = "photopipe-loadsmoke"
SMOKE = [
    *("--shape", "steady", "--rate", "4", "--duration", "3", "--mix", "smoke", "--workers", "2"),
    *("--uploaders", "2", "--album-users", "1", "--album-size", "2", "--album-share", "0.25"),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    workdir = tmp_path_factory.mktemp("loadsmoke-stack")
    with LocalStack(
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


def test_a_smoke_run_accounts_for_every_photo_and_exits_0(stack: LocalStack, tmp_path: Path) -> None:
    done = _run(
        [*SMOKE, "--stack-name", STACK, "--e2e-timeout", "60", "--report-dir", str(tmp_path)],
        stack.endpoint_url,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data = _report(tmp_path)
    counts = data["accounting"]["counts"]  # type: ignore[index]
    assert counts["uploads"] >= 8
    assert counts["lost"] == 0
    assert counts["processed"] + counts["rejected"] == counts["uploads"]
    assert counts["rejected"] >= 0
    types = {row["type"] for row in data["locust"]}  # type: ignore[attr-defined]
    assert types == {"S3 PUT", "E2E"}
    workers = {json.loads(line)["worker"] for line in (tmp_path / "uploads.jsonl").read_text().splitlines()}
    assert len(workers) == 2  # uploads came from both workers, the accounting from the master
    for name in ("report.md", "report.png", "locust.html"):
        assert (tmp_path / name).stat().st_size > 0
    assert "photopipe load steady PASS" in done.stdout


def test_a_photo_the_pipeline_never_sees_fails_the_run_with_exit_1(stack: LocalStack, tmp_path: Path) -> None:
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
    done = _run(args, stack.endpoint_url)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    accounting = _report(tmp_path)["accounting"]
    assert len(accounting["lost"]) == 2  # type: ignore[index]  # one per worker
    assert accounting["verdicts"]["no photo lost"] is False  # type: ignore[index]
    assert "FAIL" in done.stdout


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


def test_an_unknown_stack_is_refused_by_name(stack: LocalStack, tmp_path: Path) -> None:
    done = _run(["--stack-name", "no-such-stack", "--report-dir", str(tmp_path)], stack.endpoint_url)
    assert done.returncode == 2
    assert "'no-such-stack' does not exist" in done.stderr


def test_an_unknown_region_is_refused_before_any_call(tmp_path: Path) -> None:
    done = _run(["--stack-name", STACK, "--region", "mars-north-1", "--report-dir", str(tmp_path)], None)
    assert done.returncode == 2
    assert "'mars-north-1' is not an AWS region" in done.stderr
