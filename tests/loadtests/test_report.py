"""The run's report files and summary, from a synthetic run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loadtests import report
from loadtests.accounting import Resolution, Upload, account


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
