"""The template refuses a memory size the worst accepted photo could exceed (handler/capacity.py)."""

from __future__ import annotations

from typing import Any

from handler import capacity


def test_memory_size_starts_where_the_worst_accepted_photo_fits_with_headroom(
    template: dict[str, Any],
) -> None:
    memory = template["Parameters"]["MemorySize"]
    assert memory["MinValue"] == capacity.MIN_MEMORY_MB
    assert memory["MinValue"] >= capacity.WORST_PEAK_RSS_MIB * capacity.MEMORY_HEADROOM
    assert memory["Default"] >= memory["MinValue"]
    assert str(capacity.MIN_MEMORY_MB) in memory["ConstraintDescription"]


def test_the_time_guard_at_the_smallest_memory_fits_the_shortest_timeout(template: dict[str, Any]) -> None:
    timeouts = [int(value) for value in template["Parameters"]["Timeout"]["AllowedValues"]]
    assert min(timeouts) == capacity.SHORTEST_TIMEOUT_S
    assert capacity.MIN_REMAINING_MS <= capacity.SHORTEST_TIMEOUT_S * 1000
