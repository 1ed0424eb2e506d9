"""Accounting: every upload matched to renditions, a rejection notice or the DLQ; the SLO verdicts."""

from __future__ import annotations

import pytest

from loadtests.accounting import (
    Resolution,
    Upload,
    account,
    break_steps,
    highest_held_rate,
    percentile,
    timeline,
)


def _upload(key: str, expected: str = "processed", started: float = 100.0, ok: bool = True) -> Upload:
    return Upload(key, "up", "jpeg-0.3mp", expected, 10, started, started + 0.1, ok)


def test_every_upload_resolved_as_owed_passes() -> None:
    uploads = [_upload("a"), _upload("b", "rejected")]
    resolutions = {"a": Resolution("processed", 101.0), "b": Resolution("rejected", 100.5, "NotAnImage")}
    result = account(uploads, resolutions, p95_threshold_ms=5000)
    assert result.counts == {
        "uploads": 2,
        "processed": 1,
        "rejected": 1,
        "dlq": 0,
        "deleted": 0,
        "lost": 0,
        "not-uploaded": 0,
    }
    assert result.passed


def test_an_upload_without_renditions_notice_or_dlq_message_is_lost_and_fails_the_run() -> None:
    result = account(
        [_upload("a"), _upload("b")], {"a": Resolution("processed", 101.0)}, p95_threshold_ms=5000
    )
    assert result.lost == ["b"]
    assert result.verdicts["no photo lost"] is False
    assert not result.passed


def test_a_dlq_message_accounts_for_a_photo_but_a_valid_photo_there_has_failed() -> None:
    result = account(
        [_upload("a")], {"a": Resolution("dlq", 101.0, "RetriesExhausted")}, p95_threshold_ms=5000
    )
    assert result.lost == []
    assert result.valid_failed == ["a"]
    assert not result.passed


def test_a_rejected_valid_photo_fails_the_run() -> None:
    result = account(
        [_upload("a")], {"a": Resolution("rejected", 101.0, "CorruptImage")}, p95_threshold_ms=5000
    )
    assert result.verdicts["no valid photo failed"] is False


def test_a_refused_put_is_not_owed_an_outcome_but_fails_the_run() -> None:
    result = account([_upload("a", ok=False)], {}, p95_threshold_ms=5000)
    assert result.lost == []
    assert result.upload_failures == ["a"]
    assert result.verdicts["every upload accepted"] is False


def test_end_to_end_p95_over_the_threshold_fails_the_run() -> None:
    uploads = [_upload(str(i)) for i in range(20)]
    resolutions = {str(i): Resolution("processed", 100.0 + (10.0 if i >= 18 else 1.0)) for i in range(20)}
    result = account(uploads, resolutions, p95_threshold_ms=5000)
    assert result.e2e_ms["p50"] == pytest.approx(1000)
    assert result.e2e_ms["p95"] == pytest.approx(10_000)
    assert result.verdicts["end-to-end p95 <= 5,000 ms"] is False


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == 4.0
    assert percentile([], 95) is None


def test_the_highest_held_rate_is_the_last_step_before_the_first_that_failed() -> None:
    uploads = [_upload(f"{step}-{i}", started=100.0 + step * 10 + i) for step in range(3) for i in range(5)]
    late = {"2-0", "2-1", "2-2", "2-3", "2-4"}
    resolutions = {
        u.key: Resolution("processed", u.started + (30.0 if u.key in late else 1.0))
        for u in uploads
        if u.key != "1-4"
    }
    steps = break_steps(
        uploads, resolutions, start=100.0, step_seconds=10, rates=[1.0, 2.0, 4.0], p95_threshold_ms=5000
    )
    assert [s.held for s in steps] == [True, False, False]  # step 1 lost a photo, step 2 was late
    assert highest_held_rate(steps) == 1.0


def test_the_timeline_counts_uploads_and_resolutions_per_window() -> None:
    uploads = [_upload("a", started=100.0), _upload("b", started=105.0)]
    resolutions = {"a": Resolution("processed", 112.0), "b": Resolution("processed", 113.0)}
    buckets = timeline(uploads, resolutions, start=100.0, width=10.0)
    assert [(b.upload_rate, b.processed_rate) for b in buckets] == [(0.2, 0.0), (0.0, 0.2)]
    assert buckets[1].e2e_p95_ms == pytest.approx(12_000)


def test_a_photo_deleted_before_it_was_seen_processed_is_neither_lost_nor_timed() -> None:
    result = account(
        [_upload("a"), _upload("b")],
        {"a": Resolution("processed", 101.0), "b": Resolution("deleted", 100.5)},
        p95_threshold_ms=5000,
    )
    assert result.counts["deleted"] == 1
    assert result.lost == []
    assert set(result.latencies_ms) == {"a"}
    assert result.passed
