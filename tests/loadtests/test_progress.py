"""The live panel's figures: what the accounting writes every couple of seconds, and what a person sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from loadtests.accounting import Resolution, Upload
from loadtests.console import panel
from loadtests.progress import clock, progress_of, read_progress, simulated_day_seconds, write_progress
from loadtests.shapes import ShapeSpec

NOW = 1_000.0


def _upload(key: str, started: float) -> Upload:
    return Upload(key, "up", "jpeg-0.3mp", "processed", 10, started, started + 0.1, True)


def test_the_day_shapes_clock_runs_time_scale_times_faster_from_midnight() -> None:
    spec = ShapeSpec(name="day", time_scale=48.0)
    assert clock(simulated_day_seconds(spec, 900.0) or 0) == "12:00"
    assert simulated_day_seconds(ShapeSpec(name="steady"), 900.0) is None


def test_progress_counts_outcomes_and_calls_unresolved_photos_past_the_timeout_late() -> None:
    uploads = [_upload("a", NOW - 10), _upload("b", NOW - 10), _upload("c", NOW - 200), _upload("d", NOW - 1)]
    resolutions = {"a": Resolution("processed", NOW - 9), "b": Resolution("rejected", NOW - 8)}
    progress = progress_of(ShapeSpec(name="steady"), 30.0, NOW, uploads, resolutions, timeout=120)
    assert (progress.uploads, progress.processed, progress.rejected) == (4, 1, 1)
    assert progress.backlog == 2
    assert progress.late == 1
    assert progress.p95_ms == pytest.approx(2000.0)


def test_progress_is_read_back_as_it_was_written_and_is_none_before_the_first(tmp_path: Path) -> None:
    assert read_progress(tmp_path) is None
    progress = progress_of(ShapeSpec(name="steady"), 3.0, NOW, [_upload("a", NOW - 1)], {}, timeout=120)
    write_progress(tmp_path, progress)
    assert read_progress(tmp_path) == progress


def test_the_panel_shows_the_time_of_day_backlog_p95_and_lost_so_far() -> None:
    uploads = [_upload("a", NOW - 10), _upload("c", NOW - 200)]
    resolutions = {"a": Resolution("processed", NOW - 9)}
    progress = progress_of(
        ShapeSpec(name="day", time_scale=48.0), 900.0, NOW, uploads, resolutions, timeout=120
    )
    console = Console(record=True, width=100)
    console.print(panel(progress, title="photopipe load day"))
    text = console.export_text()
    for shown in ("12:00 of the day", "uploads", "backlog", "p95 so far", "1,000 ms", "lost so far"):
        assert shown in text
