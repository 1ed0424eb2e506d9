"""Load shapes as pure functions of elapsed time: the photo rate at t, its integral and its inverse.

Users pace themselves from these curves (every worker computes the same schedule from the same options), so
the arrival rate does not depend on how many users Locust runs or on which worker they live: Locust's own
shape class only keeps the users alive and ends the run.

- day:    `photos_per_day x volume_scale` photos over one day compressed `time_scale` times, on a diurnal
          curve (night floor, evening peak) with a configurable peak-to-mean ratio;
- steady: a fixed rate for a duration;
- break:  the rate steps up by a factor every step until the SLOs fail (the master stops the run early);
- burst:  `burst_photos` in `burst_seconds` (500 in 10 s by default);
- soak:   the compressed day's peak rate, held for `duration` (10 minutes or more).
"""

from __future__ import annotations

import bisect
import functools
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Final

SHAPES: Final = ("day", "steady", "break", "burst", "soak")
DAY_SECONDS: Final = 86_400.0
PEAK_HOUR: Final = 20.0  # photos are uploaded in the evening
NIGHT_FLOOR: Final = 0.2  # share of the mean rate that never goes away (other time zones, night owls)
MIN_SOAK_SECONDS: Final = 600.0
_TABLE_POINTS: Final = 20_000  # points of the cumulative table (at least every 0.05 s)


class ShapeError(ValueError):
    """Options that make no load: a peak below the mean, a non-positive rate or duration, an unknown shape."""


def _mean_of_raised_cosine(k: float) -> float:
    """Mean over a period of (1 + cos x)^k = 2^k Gamma(k + 1/2) / (sqrt(pi) Gamma(k + 1))."""
    return math.exp(k * math.log(2) + math.lgamma(k + 0.5) - 0.5 * math.log(math.pi) - math.lgamma(k + 1))


@functools.lru_cache(maxsize=64)
def diurnal_exponent(peak_to_mean: float, floor: float = NIGHT_FLOOR) -> float:
    """The k whose curve floor + (1 - floor) (1 + cos)^k / mean has the requested peak-to-mean ratio."""
    if peak_to_mean < 1:
        raise ShapeError(
            f"peak-to-mean must be >= 1 (a peak below the mean is not a peak), got {peak_to_mean}"
        )
    wanted = (peak_to_mean - floor) / (1 - floor)
    low, high = 0.0, 1.0
    while 2**high / _mean_of_raised_cosine(high) < wanted:
        high *= 2
        if high > 1e6:
            raise ShapeError(f"peak-to-mean {peak_to_mean} is too large for a diurnal curve")
    for _ in range(100):
        mid = (low + high) / 2
        if 2**mid / _mean_of_raised_cosine(mid) < wanted:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def diurnal(fraction: float, peak_to_mean: float, floor: float = NIGHT_FLOOR) -> float:
    """Relative rate at a fraction of the day (0 = midnight); its mean over the day is exactly 1."""
    k = diurnal_exponent(peak_to_mean, floor)
    angle = 2 * math.pi * (fraction - PEAK_HOUR / 24)
    return float(floor + (1 - floor) * (1 + math.cos(angle)) ** k / _mean_of_raised_cosine(k))


@dataclass(frozen=True)
class ShapeSpec:
    name: str = "day"
    time_scale: float = 288.0
    photos_per_day: float = 4000.0
    volume_scale: float = 1.0
    peak_to_mean: float = 3.0
    rate: float = 5.0
    duration: float = 300.0
    break_start: float = 2.0
    break_factor: float = 1.5
    break_step: float = 30.0
    break_steps: int = 10
    burst_photos: int = 500
    burst_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.name not in SHAPES:
            raise ShapeError(f"unknown shape {self.name!r}; expected one of {', '.join(SHAPES)}")
        positive = {
            "time-scale": self.time_scale,
            "photos-per-day": self.photos_per_day,
            "volume-scale": self.volume_scale,
            "rate": self.rate,
            "duration": self.duration,
            "break-start": self.break_start,
            "break-step": self.break_step,
            "burst-photos": self.burst_photos,
            "burst-seconds": self.burst_seconds,
        }
        bad = [f"--{k}={v}" for k, v in positive.items() if not (v > 0 and math.isfinite(v))]
        if bad:
            raise ShapeError(f"must be positive: {', '.join(bad)}")
        if self.break_factor <= 1 or self.break_steps < 1:
            raise ShapeError("--break-factor must be > 1 and --break-steps >= 1")
        diurnal_exponent(self.peak_to_mean)  # refuses a peak below the mean
        if self.name == "soak" and self.duration < MIN_SOAK_SECONDS:
            raise ShapeError(
                f"a soak lasts at least {MIN_SOAK_SECONDS:.0f} s, got --duration={self.duration}"
            )

    # ------------------------------------------------------------------ the curve
    @property
    def day_seconds(self) -> float:
        return DAY_SECONDS / self.time_scale

    @property
    def day_mean_rate(self) -> float:
        return self.photos_per_day * self.volume_scale / self.day_seconds

    @property
    def peak_rate(self) -> float:
        """The compressed day's peak: what the soak holds."""
        return self.day_mean_rate * self.peak_to_mean

    @property
    def load_seconds(self) -> float:
        return {
            "day": self.day_seconds,
            "steady": self.duration,
            "break": self.break_step * self.break_steps,
            "burst": self.burst_seconds,
            "soak": self.duration,
        }[self.name]

    def break_rate(self, step: int) -> float:
        return self.break_start * self.break_factor**step

    def step_at(self, t: float) -> int:
        return min(self.break_steps - 1, max(0, int(t // self.break_step)))

    def rate_at(self, t: float) -> float:
        """Photos per second at `t` seconds into the run; 0 before the start and after the load."""
        if t < 0 or t >= self.load_seconds:
            return 0.0
        if self.name == "day":
            return self.day_mean_rate * diurnal(t / self.day_seconds, self.peak_to_mean)
        if self.name == "steady":
            return self.rate
        if self.name == "break":
            return self.break_rate(self.step_at(t))
        if self.name == "burst":
            return self.burst_photos / self.burst_seconds
        return self.peak_rate  # soak

    # ------------------------------------------------------------------ integral and inverse
    @cached_property
    def _step(self) -> float:
        return max(0.05, self.load_seconds / _TABLE_POINTS)

    @cached_property
    def _table(self) -> list[float]:
        """Cumulative photos at every self._step (trapezoids; piecewise-constant shapes are exact enough)."""
        points = math.ceil(self.load_seconds / self._step) + 1
        total = [0.0]
        previous = self.rate_at(0.0)
        for i in range(1, points):
            t = min(i * self._step, self.load_seconds)
            current = self.rate_at(t - 1e-9)
            total.append(total[-1] + (previous + current) / 2 * (t - (i - 1) * self._step))
            previous = self.rate_at(t)
        return total

    def expected_photos(self) -> float:
        return self._table[-1]

    def cumulative(self, t: float) -> float:
        """Photos due by `t` (the integral of the rate from 0)."""
        if t <= 0:
            return 0.0
        table = self._table
        index = t / self._step
        if index >= len(table) - 1:
            return table[-1]
        low = int(index)
        return table[low] + (table[low + 1] - table[low]) * (index - low)

    def time_of(self, photos: float) -> float | None:
        """When the cumulative count reaches `photos`; None if the load never gets there."""
        table = self._table
        if photos <= 0:
            return 0.0
        if photos > table[-1]:
            return None
        i = bisect.bisect_left(table, photos)
        if i == 0:
            return 0.0
        low, high = table[i - 1], table[i]
        part = (photos - low) / (high - low) if high > low else 0.0
        return min(self.load_seconds, (i - 1 + part) * self._step)


def peak_to_mean_of(spec: ShapeSpec, samples: int = 2880) -> float:
    """The measured peak-to-mean of a day spec (for tests and the report)."""
    rates = [spec.rate_at(spec.day_seconds * i / samples) for i in range(samples)]
    return max(rates) / (sum(rates) / len(rates))
