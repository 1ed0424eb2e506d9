"""How far a run has got, as the accounting sees it: written by the process that holds the watcher every
couple of seconds, read by run.py's live panel (the two are different processes; a small JSON file in the
run's report folder is the whole channel).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loadtests.accounting import Resolution, Upload, percentile
from loadtests.shapes import DAY_SECONDS, ShapeSpec

PROGRESS_FILE = "progress.json"


@dataclass(frozen=True, slots=True)
class Progress:
    t: float
    """Seconds since the load started."""
    load_seconds: float
    day_seconds: float | None
    """Seconds into the simulated day (the `day` shape only): the run compresses a day `time_scale` times."""
    uploads: int
    processed: int
    rejected: int
    dlq: int
    backlog: int
    """Photos uploaded and not yet resolved."""
    queue_visible: int | None
    p95_ms: float | None
    late: int
    """Photos unresolved past the end-to-end timeout: lost if the run ended now."""
    deleted: int = 0
    reuploaded: int = 0
    draining: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Progress:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def simulated_day_seconds(spec: ShapeSpec, t: float) -> float | None:
    """The `day` shape's time of day at `t` seconds into the run (it starts at midnight); None otherwise."""
    if spec.name != "day":
        return None
    return min(DAY_SECONDS, max(0.0, t) * spec.time_scale)


def clock(day_seconds: float) -> str:
    minutes = int(day_seconds // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def progress_of(
    spec: ShapeSpec,
    t: float,
    now: float,
    uploads: Iterable[Upload],
    resolutions: Mapping[str, Resolution],
    *,
    timeout: float,
    queue_visible: int | None = None,
    deleted: int = 0,
    reuploaded: int = 0,
) -> Progress:
    """The figures of the panel, from the watcher's ledger at `now` (epoch seconds)."""
    counts = {"processed": 0, "rejected": 0, "dlq": 0}
    latencies: list[float] = []
    backlog = late = total = 0
    for upload in uploads:
        total += 1
        if not upload.ok:
            continue
        resolution = resolutions.get(upload.key)
        if resolution is None:
            backlog += 1
            late += now - upload.started > timeout
            continue
        if resolution.outcome in counts:
            counts[resolution.outcome] += 1
            latencies.append(max(0.0, (resolution.at - upload.started) * 1000))
    return Progress(
        t=round(t, 1),
        load_seconds=spec.load_seconds,
        day_seconds=simulated_day_seconds(spec, t),
        uploads=total,
        backlog=backlog,
        queue_visible=queue_visible,
        p95_ms=percentile(latencies, 95),
        late=late,
        deleted=deleted,
        reuploaded=reuploaded,
        draining=t >= spec.load_seconds,
        **counts,
    )


def write_progress(directory: Path, progress: Progress) -> None:
    """Written whole and renamed into place, so a reader never sees half a file."""
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".{PROGRESS_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(progress.to_json()))
    partial.replace(directory / PROGRESS_FILE)


def read_progress(directory: Path) -> Progress | None:
    """None until the first progress is written (or when it cannot be read)."""
    try:
        return Progress.from_json(json.loads((directory / PROGRESS_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None
