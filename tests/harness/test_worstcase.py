"""The worst-case measurement judges handler/capacity.py by the heaviest accepted run, and can fail it."""

from __future__ import annotations

from handler import capacity
from harness.worstcase import Run, judge, markdown


def _runs(peak: float, cpu: float) -> list[Run]:
    return [
        Run("png-50mp-16bit-rgba", False, peak - 10, [0.9], "processed"),
        Run("png-50mp-16bit-rgba", True, peak, [1.0, 1.1], "processed"),
        Run("heif-48mp-10bit", False, 300.0, [cpu], "processed"),
        Run("heif-48mp-10bit", True, 310.0, [cpu - 0.5], "processed"),
        Run("webp-25mp", False, 9000.0, [0.1], "rejected: TooManyPixels"),  # refused: costs nothing to bound
        Run("webp-25mp", True, 9000.0, [0.1], "rejected: TooManyPixels"),
    ]


def test_the_verdict_takes_the_heaviest_and_slowest_accepted_runs() -> None:
    verdict = judge(_runs(500.0, 4.0))
    assert (verdict.worst_peak_mib, verdict.worst_peak_case) == (500.0, "png-50mp-16bit-rgba (warm)")
    assert (verdict.worst_cpu_s, verdict.worst_cpu_case) == (3.75, "heif-48mp-10bit")  # median of 4.0, 3.5
    assert verdict.ok
    assert "| png-50mp-16bit-rgba |" in markdown(_runs(500.0, 4.0), verdict)


def test_a_peak_beyond_the_memory_minimum_fails_the_check() -> None:
    too_heavy = capacity.MIN_MEMORY_MB / capacity.MEMORY_HEADROOM + 1
    assert not judge(_runs(too_heavy, 4.0)).ok


def test_a_cpu_time_beyond_the_time_guard_fails_the_check() -> None:
    assert not judge(_runs(500.0, capacity.WORST_CPU_S + 1.0)).ok
