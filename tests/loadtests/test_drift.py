"""After the run, reconcile's survey of the buckets is one more verdict: drift fails the run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from harness.drift import Listed, compare
from loadtests import report
from loadtests.drift import VERDICT, drift_after_run, with_drift
from tests.loadtests.test_report import _data

WHEN = datetime(2026, 11, 29, tzinfo=UTC)


def _upload(key: str) -> Listed:
    return Listed(key, "etag", 10, WHEN, "v1")


def _drift(*, orphan: bool) -> dict[str, Any]:
    renditions = [Listed("large/stray.jpg", "e", 1, WHEN)] if orphan else []
    drift = compare(
        [_upload("bad.jpg")],
        renditions,
        expected=lambda key: (f"large/{key}",),
        made={},
        fingerprint="f",
        rejected={"bad.jpg": "NotAnImage"},
    )
    return {**drift.to_json(), "fingerprint": {"value": "f"}}


def test_a_run_whose_buckets_hold_no_drift_keeps_its_verdict_and_says_so(tmp_path: Path) -> None:
    data = with_drift(_data(lost=False), _drift(orphan=False))

    assert data["accounting"]["verdicts"][VERDICT] is True
    assert data["accounting"]["passed"] is True
    paths = report.write(tmp_path, data)
    assert "reconcile after the run: 1 uploads: 0 current, 0 missing" in report.summary(data, paths)
    assert "1 rejected" in paths["markdown"].read_text()


def test_a_rendition_no_upload_expects_fails_the_run_and_is_named(tmp_path: Path) -> None:
    data = with_drift(_data(lost=False), _drift(orphan=True))

    assert data["accounting"]["verdicts"][VERDICT] is False
    assert data["accounting"]["passed"] is False
    paths = report.write(tmp_path, data)
    assert f"**FAIL**: {VERDICT}" in paths["markdown"].read_text()
    assert "orphans: `large/stray.jpg`" in paths["markdown"].read_text()


def test_drift_does_not_hide_an_earlier_failure() -> None:
    data = with_drift(_data(lost=True), _drift(orphan=False))

    assert data["accounting"]["passed"] is False


@mock_aws
def test_a_survey_that_cannot_finish_fails_the_verdict_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    drift = drift_after_run(boto3.Session(region_name="us-west-2"), "no-such-stack")
    data = with_drift(_data(lost=False), drift)

    assert data["accounting"]["verdicts"][VERDICT] is False
    paths = report.write(tmp_path, data)
    assert "reconcile after the run could not finish: " in report.summary(data, paths)
