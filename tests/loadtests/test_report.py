"""The run's report files and summary, from a synthetic run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loadtests import report
from loadtests.accounting import Resolution, Upload, account
from loadtests.lifecycle import Deletion, account_lifecycle
from loadtests.machine import machine_figures


def _data(lost: bool) -> dict[str, Any]:
    uploads = [Upload("a", "up", "jpeg-0.3mp", "processed", 10, 100.0, 100.1, True)]
    resolutions = {} if lost else {"a": Resolution("processed", 101.0)}
    result = account(uploads, resolutions, p95_threshold_ms=5000)
    return {
        "run_id": "r1",
        "target": "stack s at http://127.0.0.1:1",
        "shape": {"name": "steady", "load_seconds": 10.0, "expected_photos": 1.0},
        "started": "2026-11-29T00:00:00+00:00",
        "finished": "2026-11-29T00:00:10+00:00",
        "accounting": result.to_json(),
        "p95_threshold_ms": 5000.0,
        "e2e_timeout_s": 60.0,
        "locust": [
            {
                "type": "E2E",
                "name": "processed",
                "requests": 1,
                "failures": 0,
                "median_ms": 1000,
                "p95_ms": 1000,
                "p99_ms": 1000,
                "max_ms": 1000,
                "rps": 0.1,
            }
        ],
        "cloudwatch": {"Lambda Invocations Sum": 1.0, "ProcessedImages Sum": 1.0},
        "timeline": [{"t": 0.0, "upload_rate": 0.1, "processed_rate": 0.1, "e2e_p95_ms": 1000.0}],
        "throughput": {"busiest_minute_per_s": 0.1, "overall_per_s": 0.1},
        "break": None,
    }


def test_the_report_is_written_as_json_markdown_and_png(tmp_path: Path) -> None:
    paths = report.write(tmp_path, _data(lost=False))
    assert json.loads(paths["json"].read_text())["accounting"]["passed"] is True
    text = paths["markdown"].read_text()
    assert "PASS: no photo lost" in text
    assert "| Lambda Invocations Sum | 1 |" in text
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_lost_photo_is_named_in_the_report_and_the_summary(tmp_path: Path) -> None:
    data = _data(lost=True)
    paths = report.write(tmp_path, data)
    assert "**FAIL**: no photo lost" in paths["markdown"].read_text()
    assert "Lost (first 20): `a`" in paths["markdown"].read_text()
    assert report.summary(data, paths).startswith("photopipe load steady FAIL: 1 uploads")


def _machine() -> dict[str, Any]:
    run = {"accounting": {"counts": {"uploads": 100, "processed": 90, "rejected": 10}}}
    run["throughput"] = {"busiest_minute_per_s": 2.5}
    return machine_figures(
        run,
        cpu_ms=200.0,
        cpu={"function workers": 30.0, "moto server": 10.0},
        elapsed=40.0,
        busiest={},
        cores=2,
    )


def test_the_machines_limit_is_its_cores_over_the_cpu_time_of_a_photo() -> None:
    machine = _machine()
    assert machine["limit_photos_per_s"] == 10.0  # 2 cores / 0.2 s
    assert machine["share_of_limit"] == 0.25  # 2.5 photos/s sustained
    assert machine["imaging_cpu_seconds"] == 20.0  # 100 photos x 200 ms
    assert machine["cpu_utilisation_of_machine"] == 0.5  # 40 CPU s over 40 s on 2 cores


def test_the_one_writer_renders_the_machines_figures_when_they_are_given(tmp_path: Path) -> None:
    without = report.write(tmp_path / "a", _data(lost=False))["markdown"].read_text()
    data = {**_data(lost=False), "machine": _machine()}
    paths = report.write(tmp_path / "b", data)
    assert "## This machine" not in without
    assert "so the limit is 10.0 photos/s. Sustained: 2.50 photos/s (25% of the limit)." in (
        paths["markdown"].read_text()
    )
    assert json.loads(paths["json"].read_text())["machine"]["limit_photos_per_s"] == 10.0
    assert "this machine: 2 cores, limit 10 photos/s" in report.summary(data, paths)


def test_deletions_and_second_uploads_are_counted_in_the_report_and_the_summary(tmp_path: Path) -> None:
    lifecycle = account_lifecycle(
        [Deletion("a", 1.0, 1.1, True)],
        [],
        present={"large/a"},
        rendition_keys=lambda key: [f"large/{key}"],
        fresh={},
    )
    data = {**_data(lost=False), "lifecycle": lifecycle.to_json()}
    paths = report.write(tmp_path, data)
    assert "1 photos deleted, 1 of them with renditions left" in paths["markdown"].read_text()
    assert "Leftovers (first 20): `a`" in paths["markdown"].read_text()
    assert "after the upload: 1 deleted (1 with renditions left)" in report.summary(data, paths)
