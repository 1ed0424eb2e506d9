"""The memory minimum and the time guard follow from the measured worst case, and the handler uses them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from handler import capacity


def test_the_memory_minimum_leaves_headroom_over_the_worst_peak() -> None:
    assert capacity.memory_needed_mb(521.0) == 704  # 521 x 1.3 = 677.3, rounded up to 64 MB steps
    assert capacity.memory_needed_mb(capacity.WORST_PEAK_RSS_MIB) <= capacity.MIN_MEMORY_MB
    assert capacity.MIN_MEMORY_MB % capacity.MEMORY_STEP_MB == 0


def test_the_time_guard_scales_the_worst_cpu_time_by_the_cpu_share_of_the_memory_size() -> None:
    full = capacity.time_guard_ms(4.0, capacity.FULL_VCPU_MB)
    half = capacity.time_guard_ms(4.0, capacity.FULL_VCPU_MB // 2)
    assert full == 4600 + capacity.IO_ALLOWANCE_MS  # 4 s x 1.15 (arm64) on a whole vCPU
    assert half - capacity.IO_ALLOWANCE_MS == pytest.approx(2 * (full - capacity.IO_ALLOWANCE_MS), abs=200)
    assert capacity.time_guard_ms(4.0, 10240) == full, "no faster above one vCPU"


def test_below_the_minimum_the_worst_photo_would_not_fit_the_shortest_timeout() -> None:
    smaller = capacity.MIN_MEMORY_MB - capacity.MEMORY_STEP_MB
    assert capacity.time_guard_ms(capacity.WORST_CPU_S, smaller) > capacity.SHORTEST_TIMEOUT_S * 1000
    assert capacity.time_guard_ms(capacity.WORST_CPU_S, capacity.MIN_MEMORY_MB) <= 15_000


@pytest.mark.parametrize(
    ("memory", "expected"),
    [
        (None, capacity.MIN_REMAINING_MS),
        ("not a number", capacity.MIN_REMAINING_MS),
        ("128", capacity.MIN_REMAINING_MS),  # never below what the template allows
        ("1769", capacity.time_guard_ms(capacity.WORST_CPU_S, 1769)),
    ],
)
def test_the_guard_follows_the_containers_memory_size(memory: str | None, expected: int) -> None:
    assert capacity.min_remaining_ms(memory) == expected


def test_the_handler_reads_its_guard_from_the_lambda_memory_size() -> None:
    code = "import handler.app as a; print(a.MIN_REMAINING_MS)"
    env = {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1769", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert int(out.stdout) == capacity.time_guard_ms(capacity.WORST_CPU_S, 1769) < capacity.MIN_REMAINING_MS
