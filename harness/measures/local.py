"""`python -m harness.measures.local [--photos N] [--fixture NAME]`: the local stack's start-up time by
phase, a photo's end-to-end latency (PUT to both renditions listed), cold then warm, one at a time, and
optionally the throughput of a burst (`--burst N`)."""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fixtures.generate import fixture_bytes
from harness.emulator.stack import EmbeddedStack


def _latency(stack: EmbeddedStack, key: str, body: bytes, timeout: float = 60.0) -> float:
    s3 = stack.session().client("s3")
    processed = stack.outputs["ProcessedBucketName"]
    stem = key.rsplit(".", 1)[0]
    started = time.perf_counter()
    s3.put_object(Bucket=stack.outputs["UploadBucketName"], Key=key, Body=body)
    while time.perf_counter() - started < timeout:
        listed = s3.list_objects_v2(Bucket=processed, Prefix="thumbnail/" + stem).get("KeyCount", 0)
        if listed and s3.list_objects_v2(Bucket=processed, Prefix="large/" + stem).get("KeyCount", 0):
            return time.perf_counter() - started
        time.sleep(0.02)
    raise TimeoutError(f"no renditions of {key} after {timeout:.0f} s")


def _burst(stack: EmbeddedStack, count: int, body: bytes, timeout: float = 300.0) -> float:
    """Seconds from the first PUT of `count` photos (uploaded back to back) to the last thumbnail listed."""
    s3 = stack.session().client("s3")
    processed = stack.outputs["ProcessedBucketName"]
    started = time.perf_counter()
    for n in range(count):
        s3.put_object(Bucket=stack.outputs["UploadBucketName"], Key=f"burst/{n}.jpg", Body=body)
    while time.perf_counter() - started < timeout:
        if s3.list_objects_v2(Bucket=processed, Prefix="thumbnail/burst/").get("KeyCount", 0) >= count:
            return time.perf_counter() - started
        time.sleep(0.1)
    raise TimeoutError(f"the burst of {count} photos did not finish in {timeout:.0f} s")


def measure(photos: int, fixture: str, burst: int = 0) -> dict[str, Any]:
    body = fixture_bytes(fixture)
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        with EmbeddedStack(port=0, stack_name="photopipe-measure", workdir=Path(workdir)) as stack:
            startup = time.perf_counter() - started
            latencies = [_latency(stack, f"measure/{n}.jpg", body) for n in range(photos)]
            burst_s = _burst(stack, burst, body) if burst else None
            timings = stack.report.timings
            return {
                "fixture": fixture,
                "fixture_bytes": len(body),
                "startup_s": round(startup, 2),
                "startup_phases_s": {k: round(v, 2) for k, v in timings.__dict__.items()},
                "first_photo_s": round(latencies[0], 3),
                "warm_median_s": round(statistics.median(latencies[1:]), 3) if photos > 1 else None,
                "warm_max_s": round(max(latencies[1:]), 3) if photos > 1 else None,
                "burst_photos": burst,
                "burst_s": round(burst_s, 2) if burst_s else None,
                "burst_photos_per_s": round(burst / burst_s, 2) if burst_s else None,
                "workers": stack.worker_stats(),
            }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.measures.local")
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--fixture", default="jpeg-2mp")
    parser.add_argument("--burst", type=int, default=0, help="then upload this many back to back")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.photos, args.fixture, args.burst), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
