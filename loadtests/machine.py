"""This machine's figures for a run: its limit (cores / CPU time per photo) against what the run sustained,
and where the CPU went. Pure: run.py measures, this module computes, loadtests.report renders.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from loadtests import cpu as cpu_parts


def machine_figures(
    run: Mapping[str, Any],
    *,
    cpu_ms: float,
    cpu: Mapping[str, float],
    elapsed: float,
    busiest: Mapping[str, float],
    memory: Mapping[str, Any] | None = None,
    ledger: Mapping[str, Mapping[str, float]] | None = None,
    function_workers: Any = None,
    cores: int | None = None,
) -> dict[str, Any]:
    """`run` is the report's data as the accounting wrote it (its counts and throughput); `cpu_ms` the mix's
    CPU time per photo through the handler's imaging, `cpu` the CPU seconds each part of the run used."""
    cores = cores or os.cpu_count() or 1
    limit = cores / (cpu_ms / 1000) if cpu_ms > 0 else None
    throughput = (run.get("throughput") or {}).get("busiest_minute_per_s")
    held = (run.get("break") or {}).get("highest_held_rate")
    sustained = held if held is not None else throughput
    share = sustained / limit if sustained and limit else None
    total_cpu = sum(cpu.values())
    counts = (run.get("accounting") or {}).get("counts") or {}
    imaging = (counts.get("processed", 0) + counts.get("rejected", 0)) * cpu_ms / 1000
    photos = int(counts.get("uploads", 0))
    by_operation = {k: dict(v) for k, v in (ledger or {}).items()}
    rows = cpu_parts.per_photo_rows(dict(cpu), by_operation, photos, cpu_ms)
    emulator_ms = cpu_parts.emulator_ms_per_photo(dict(cpu), photos)
    return {
        "cores": cores,
        "photos": photos,
        "cpu_ms_per_photo_mix": round(cpu_ms, 2),
        "limit_photos_per_s": None if limit is None else round(limit, 2),
        "sustained_photos_per_s": sustained,
        "share_of_limit": None if share is None else round(share, 3),
        "cpu_seconds_by_part": dict(cpu),
        "wall_seconds": round(elapsed, 1),
        "cpu_utilisation_of_machine": round(total_cpu / (elapsed * cores), 3) if elapsed else None,
        "busiest_minute_cores": dict(busiest),
        "imaging_cpu_seconds": round(imaging, 2),
        "imaging_share_of_cpu_used": round(imaging / total_cpu, 3) if total_cpu else None,
        "function_workers": function_workers,
        "function_worker_rss": dict(memory or {}),
        "emulator_cpu_ms_per_photo": None if emulator_ms is None else round(emulator_ms, 2),
        "emulator_to_imaging": round(emulator_ms / cpu_ms, 3) if emulator_ms is not None and cpu_ms else None,
        "cpu_ms_per_photo_by_part": [{"part": p, "ms": round(ms, 3), "note": n} for p, ms, n in rows],
        "server_ledger": dict(ledger or {}),
    }
