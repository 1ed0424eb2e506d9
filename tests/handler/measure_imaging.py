"""Measure (not a test): this handler's imaging against the naive recipe and the floor, on the 12 MP fixture.

    python -m tests.handler.measure_imaging [--runs N]

Each recipe runs in its own process so that its peak RSS growth is its own; memory is the peak resident-set
growth over the process's state just before the first run (fixture bytes and imports already in memory).
Times are medians of decode -> every rendition encoded; the ratios use CPU time with the three recipes
interleaved in one process, which a neighbour's load on a shared machine skews least.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from PIL import Image, ImageOps

FIXTURE = "jpeg-phone-12mp"


def _naive(data: bytes) -> None:
    """Full decode, orientation, LANCZOS from the full image for each rendition, JPEG q90 optimize."""
    from handler.config import Settings
    from handler.imaging import fit

    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    assert img is not None
    for spec in Settings(processed_bucket="x", error_topic_arn="").renditions:
        out = img.resize(fit(img.size, (spec.width, spec.height)), Image.Resampling.LANCZOS)
        out.save(io.BytesIO(), "JPEG", quality=90, optimize=True)


def _floor(data: bytes) -> None:
    """The least any recipe must do: scaled decode of the largest rendition and one encode of it."""
    img = Image.open(io.BytesIO(data))
    img.draft("RGB", (768, 576))
    img.load()
    img.save(io.BytesIO(), "JPEG", quality=85)


def _ours(data: bytes) -> None:
    from handler.config import Settings
    from handler.imaging import OutputSpec, make_renditions

    settings = Settings(processed_bucket="x", error_topic_arn="")
    make_renditions(data, settings.renditions, OutputSpec("JPEG", 85), max_pixels=settings.max_pixels)


RECIPES = {"ours": _ours, "naive": _naive, "floor": _floor}


def _child(recipe: str, runs: int, path: str) -> dict[str, float]:
    """Reads the fixture from a file: building it in this process would set the peak RSS before measuring."""
    with open(path, "rb") as source:
        data = source.read()
    fn = RECIPES[recipe]
    import handler.imaging  # noqa: F401  (imports are not what is measured)

    baseline = _status("VmRSS")
    _reset_peak()
    times, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn(data)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    peak = _status("VmHWM")
    return {
        "median_ms": statistics.median(times) * 1000,
        "median_cpu_ms": statistics.median(cpu) * 1000,
        "peak_mib": (peak - baseline) / 1024,
    }


def _times(runs: int, path: str) -> dict[str, dict[str, float]]:
    """The recipes interleaved in one process, so that a neighbour's load on a shared machine hits all three
    alike; CPU time (not wall time) is what is compared."""
    with open(path, "rb") as source:
        data = source.read()
    cpu: dict[str, list[float]] = {name: [] for name in RECIPES}
    for fn in RECIPES.values():
        fn(data)  # warm: first-call imports and caches are not the steady state
    for _ in range(runs):
        for name, fn in RECIPES.items():
            started = time.process_time()
            fn(data)
            cpu[name].append(time.process_time() - started)
    return {name: {"median_cpu_ms": statistics.median(values) * 1000} for name, values in cpu.items()}


def _status(field: str) -> int:
    """A /proc/self/status figure in KiB (ru_maxrss would carry the parent's peak across exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def _import_cost() -> dict[str, float]:
    def run(code: str) -> float:
        samples = []
        for _ in range(5):
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            samples.append(float(out.stdout.split()[-1]))
        return statistics.median(samples) * 1000

    handler = run(
        "import handler.app as a; from handler.config import Settings; "
        "Settings.from_env({'PROCESSED_BUCKET': 'x'})"
    )
    boto3 = run("import boto3; boto3.session.Session().client('s3', region_name='us-east-1')")
    both = run(
        "import handler.app as a; from handler.config import Settings; "
        "Settings.from_env({'PROCESSED_BUCKET': 'x'}); import boto3; "
        "boto3.session.Session().client('s3', region_name='us-east-1')"
    )
    return {"handler_app_and_settings_ms": handler, "boto3_and_s3_client_ms": boto3, "all_ms": both}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--child", choices=[*RECIPES, "times"])
    parser.add_argument("--input")
    args = parser.parse_args()
    if args.child == "times":
        print(json.dumps(_times(args.runs, args.input)))
        return 0
    if args.child:
        print(json.dumps(_child(args.child, args.runs, args.input)))
        return 0
    from fixtures.generate import fixture_bytes

    figures: dict[str, Any] = {}
    with tempfile.NamedTemporaryFile(suffix=".jpg") as fixture:
        fixture.write(fixture_bytes(FIXTURE))
        fixture.flush()
        for recipe in RECIPES:
            command = [sys.executable, "-m", "tests.handler.measure_imaging", "--child", recipe]
            command += ["--runs", str(args.runs), "--input", fixture.name]
            out = subprocess.run(command, capture_output=True, text=True, check=True)
            figures[recipe] = json.loads(out.stdout)
        command = [sys.executable, "-m", "tests.handler.measure_imaging", "--child", "times"]
        command += ["--runs", str(args.runs * 3), "--input", fixture.name]
        interleaved = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        for recipe, values in interleaved.items():
            figures[recipe]["interleaved_cpu_ms"] = values["median_cpu_ms"]
    ours, naive, floor = figures["ours"], figures["naive"], figures["floor"]
    figures["ratios"] = {
        "time_vs_naive": round(ours["median_ms"] / naive["median_ms"], 3),
        "time_vs_floor": round(ours["median_ms"] / floor["median_ms"], 3),
        "cpu_vs_naive": round(ours["interleaved_cpu_ms"] / naive["interleaved_cpu_ms"], 3),
        "cpu_vs_floor": round(ours["interleaved_cpu_ms"] / floor["interleaved_cpu_ms"], 3),
        "memory_vs_naive": round(ours["peak_mib"] / naive["peak_mib"], 3) if naive["peak_mib"] else None,
    }
    figures["imports"] = _import_cost()
    imports = figures["imports"]
    imports["extra_over_boto3"] = round(imports["all_ms"] / imports["boto3_and_s3_client_ms"], 3)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
