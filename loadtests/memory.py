"""Whether the function's workers hold their memory over a long run: their RSS early, halfway and at the end.

A leak shows as growth between the half and the end, when caches, imports and the allocator's arenas have long
since reached their working size; the figure one minute in is what a warm worker starts from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MIB = 2**20
WARM_AFTER_S = 60.0

Series = Mapping[int, Sequence[tuple[float, int]]]  # worker pid -> (time, RSS bytes), in time order


def _at(samples: Sequence[tuple[float, int]], when: float) -> int | None:
    """The first sample at or after `when`, if the worker was alive then."""
    if not samples or samples[0][0] > when:
        return None
    for t, rss in samples:
        if t >= when:
            return rss
    return None


def _span(values: Sequence[int]) -> list[float] | None:
    return [round(min(values) / MIB, 1), round(max(values) / MIB, 1)] if values else None


def rss_summary(series: Series, started: float) -> dict[str, Any]:
    """RSS ranges (MiB, min-max over the workers) one minute in (or at the half, for a short run), at the
    half and at the end, and the largest growth of one worker from the half to the end."""
    samples = [s for s in series.values() if s]
    if not samples:
        return {}
    end = max(s[-1][0] for s in samples)
    half = started + (end - started) / 2
    warm = min(started + WARM_AFTER_S, half)
    early = [v for s in samples if (v := _at(s, warm)) is not None]
    middle = [v for s in samples if (v := _at(s, half)) is not None]
    last = [s[-1][1] for s in samples if s[-1][0] >= end - 5.0]  # alive at the end
    growth = [
        (s[-1][1] - mid) / MIB for s in samples if (mid := _at(s, half)) is not None and s[-1][0] >= end - 5.0
    ]
    return {
        "workers": len(samples),
        "warm_mib": _span(early),
        "half_mib": _span(middle),
        "end_mib": _span(last),
        "max_growth_second_half_mib": round(max(growth), 1) if growth else None,
    }


def rss_line(summary: Mapping[str, Any]) -> str:
    if not summary:
        return ""

    def show(key: str) -> str:
        span = summary.get(key)
        return "-" if not span else f"{span[0]:.0f}-{span[1]:.0f} MiB"

    growth = summary.get("max_growth_second_half_mib")
    return (
        f"Function worker RSS ({summary['workers']} workers): {show('warm_mib')} warm, {show('half_mib')} "
        f"halfway, {show('end_mib')} at the end; the largest growth of one worker over the second half: "
        + ("-" if growth is None else f"{growth:+.1f} MiB")
        + "."
    )
