"""The soak's memory verdict: worker RSS warm, halfway and at the end, and the growth in the second half."""

from __future__ import annotations

import pytest

from loadtests.memory import MIB, rss_line, rss_summary


def _series(*points: tuple[float, float]) -> list[tuple[float, int]]:
    return [(t, int(mib * MIB)) for t, mib in points]


def test_a_flat_worker_shows_no_growth_over_the_second_half() -> None:
    series = {
        1: _series((0, 30), (60, 62), (300, 80), (600, 81)),
        2: _series((0, 30), (60, 60), (300, 78), (600, 78)),
    }

    summary = rss_summary(series, started=0.0)

    assert summary["warm_mib"] == [60.0, 62.0]
    assert summary["half_mib"] == [78.0, 80.0]
    assert summary["end_mib"] == [78.0, 81.0]
    assert summary["max_growth_second_half_mib"] == pytest.approx(1.0)


def test_a_leaking_worker_shows_its_growth() -> None:
    series = {1: _series((0, 30), (60, 60), (300, 100), (600, 180))}

    assert rss_summary(series, started=0.0)["max_growth_second_half_mib"] == pytest.approx(80.0)


def test_a_worker_gone_before_the_end_is_not_counted_at_the_end() -> None:
    series = {1: _series((0, 30), (100, 60)), 2: _series((0, 30), (300, 70), (600, 72))}

    summary = rss_summary(series, started=0.0)

    assert summary["end_mib"] == [72.0, 72.0]
    assert summary["max_growth_second_half_mib"] == pytest.approx(2.0)


def test_no_workers_no_summary_and_no_line() -> None:
    assert rss_summary({}, started=0.0) == {}
    assert rss_line({}) == ""


def test_the_line_names_each_figure() -> None:
    series = {1: _series((0, 30), (60, 60), (300, 70), (600, 71))}

    line = rss_line(rss_summary(series, started=0.0))

    assert line == (
        "Function worker RSS (1 workers): 60-60 MiB warm, 70-70 MiB halfway, 71-71 MiB at the end; "
        "the largest growth of one worker over the second half: +1.0 MiB."
    )
