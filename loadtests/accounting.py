"""Every upload ends as renditions, a rejection notification or a DLQ message; anything else is lost.

Pure: the watcher and the final read-back collect what S3 and SQS say, this module decides what it means
(outcome per upload, percentiles, SLO verdicts, the break shape's highest held rate, the time series).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["processed", "rejected", "dlq", "deleted", "lost", "not-uploaded"]


@dataclass(frozen=True, slots=True)
class Upload:
    """One PUT as the uploader saw it (times are epoch seconds, comparable across processes on a host)."""

    key: str
    bucket: str
    fixture: str
    expected: str
    size: int
    started: float
    finished: float
    ok: bool
    worker: str = ""
    album: bool = False
    error: str | None = None
    then: str = "keep"
    """What the uploader does to the photo after the lifecycle delay (loadtests.lifecycle.Fate)."""
    etag: str = ""
    version_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Upload:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True, slots=True)
class Resolution:
    """How a photo ended: "deleted" when its owner deleted it before the watcher saw it processed."""

    outcome: Literal["processed", "rejected", "dlq", "deleted"]
    at: float
    error_type: str | None = None


@dataclass
class Accounting:
    counts: dict[str, int]
    lost: list[str]
    valid_failed: list[str]
    bad_processed: list[str]
    upload_failures: list[str]
    latencies_ms: dict[str, float]
    e2e_ms: dict[str, float | None]
    verdicts: dict[str, bool] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(self.verdicts.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "lost": self.lost,
            "valid_failed": self.valid_failed,
            "bad_processed": self.bad_processed,
            "upload_failures": self.upload_failures,
            "e2e_ms": self.e2e_ms,
            "verdicts": self.verdicts,
            "passed": self.passed,
        }


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def outcome_of(upload: Upload, resolution: Resolution | None) -> Outcome:
    if not upload.ok:
        return "not-uploaded"
    return resolution.outcome if resolution is not None else "lost"


def account(
    uploads: Iterable[Upload],
    resolutions: Mapping[str, Resolution],
    *,
    p95_threshold_ms: float,
) -> Accounting:
    """Match every upload to its resolution and judge the run: nothing lost, no valid photo failed, no
    upload refused, end-to-end p95 within the threshold."""
    counts = {
        "uploads": 0,
        "processed": 0,
        "rejected": 0,
        "dlq": 0,
        "deleted": 0,
        "lost": 0,
        "not-uploaded": 0,
    }
    lost: list[str] = []
    valid_failed: list[str] = []
    bad_processed: list[str] = []
    upload_failures: list[str] = []
    latencies: dict[str, float] = {}
    for upload in uploads:
        counts["uploads"] += 1
        resolution = resolutions.get(upload.key)
        outcome = outcome_of(upload, resolution)
        counts[outcome] += 1
        if outcome == "not-uploaded":
            upload_failures.append(upload.key)
            continue
        if outcome == "lost":
            lost.append(upload.key)
            continue
        if outcome == "deleted":  # gone before it was seen: no latency, and nothing owed any more
            continue
        assert resolution is not None
        latencies[upload.key] = max(0.0, (resolution.at - upload.started) * 1000)
        if upload.expected == "processed" and outcome != "processed":
            valid_failed.append(upload.key)
        if upload.expected == "rejected" and outcome == "processed":
            bad_processed.append(upload.key)
    values = list(latencies.values())
    e2e = {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else None,
    }
    verdicts = {
        "no photo lost": not lost,
        "no valid photo failed": not valid_failed,
        "every upload accepted": not upload_failures,
        f"end-to-end p95 <= {p95_threshold_ms:,.0f} ms": e2e["p95"] is not None
        and e2e["p95"] <= p95_threshold_ms,
    }
    return Accounting(counts, lost, valid_failed, bad_processed, upload_failures, latencies, e2e, verdicts)


# ----------------------------------------------------------------------------------------- break shape
@dataclass(frozen=True, slots=True)
class StepResult:
    step: int
    rate: float
    uploads: int
    resolved: int
    p95_ms: float | None
    held: bool


def break_steps(
    uploads: Iterable[Upload],
    resolutions: Mapping[str, Resolution],
    *,
    start: float,
    step_seconds: float,
    rates: Sequence[float],
    p95_threshold_ms: float,
) -> list[StepResult]:
    """Per step of the break shape: the photos uploaded in it, and whether all of them came through within
    the p95 threshold (a photo never resolved counts as infinitely late)."""
    by_step: dict[int, list[float]] = {i: [] for i in range(len(rates))}
    for upload in uploads:
        if not upload.ok:
            continue
        step = int((upload.started - start) // step_seconds)
        if not 0 <= step < len(rates):
            continue
        resolution = resolutions.get(upload.key)
        if resolution is not None and resolution.outcome == "deleted":
            continue
        by_step[step].append(math.inf if resolution is None else (resolution.at - upload.started) * 1000)
    results = []
    for step, rate in enumerate(rates):
        latencies = by_step[step]
        p95 = percentile(latencies, 95)
        held = bool(latencies) and p95 is not None and p95 <= p95_threshold_ms
        results.append(
            StepResult(
                step=step,
                rate=rate,
                uploads=len(latencies),
                resolved=sum(1 for v in latencies if math.isfinite(v)),
                p95_ms=p95 if p95 is None or math.isfinite(p95) else None,
                held=held,
            )
        )
    return results


def highest_held_rate(steps: Sequence[StepResult]) -> float | None:
    """The rate of the last step of the unbroken run of held steps from the start."""
    best = None
    for step in steps:
        if not step.held:
            break
        best = step.rate
    return best


# ----------------------------------------------------------------------------------------- time series
@dataclass(frozen=True, slots=True)
class Bucket:
    t: float
    upload_rate: float
    processed_rate: float
    e2e_p95_ms: float | None


def timeline(
    uploads: Iterable[Upload], resolutions: Mapping[str, Resolution], *, start: float, width: float = 10.0
) -> list[Bucket]:
    """Upload rate (by PUT start), resolution rate (by when it was seen) and the p95 of the photos resolved
    in each window."""
    uploads = [u for u in uploads if u.ok]
    resolutions = {k: r for k, r in resolutions.items() if r.outcome != "deleted"}
    started = {u.key: u.started for u in uploads}
    times = [u.started for u in uploads] + [r.at for k, r in resolutions.items() if k in started]
    if not times:
        return []
    n = max(1, int((max(times) - start) // width) + 1)
    up = [0] * n
    done = [0] * n
    lat: list[list[float]] = [[] for _ in range(n)]
    for u in uploads:
        up[min(n - 1, max(0, int((u.started - start) // width)))] += 1
    for key, r in resolutions.items():
        if key not in started:
            continue
        i = min(n - 1, max(0, int((r.at - start) // width)))
        done[i] += 1
        lat[i].append((r.at - started[key]) * 1000)
    return [Bucket(i * width, up[i] / width, done[i] / width, percentile(lat[i], 95)) for i in range(n)]
