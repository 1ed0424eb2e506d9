"""The handler's imaging against the naive recipe, the scaled-decode floor and pyvips, in one run.

Why each case runs in a fresh subprocess: Pillow's pixel buffers are C allocations that tracemalloc cannot
see, and a process's peak RSS never goes down, so the only honest peak memory of a recipe is the peak RSS of a
process that ran nothing else (minus its RSS just before the first photo). CPU time is process time (all
threads, so a multi-threaded peer is not flattered), the median of N repeats after one warm-up.

    python -m harness.bench [--repeat 5] [--out reports/bench] [--fixture jpeg-phone-12mp ...]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from handler.constants import DEFAULT_MAX_HEIGHT, DEFAULT_MAX_WIDTH, DEFAULT_THUMBNAIL_SIZE

METHODS: Final = ("handler", "naive", "floor", "pyvips")
# Fixture classes: the 12 MP phone photo is the one the targets are judged on.
FIXTURE_CLASSES: Final = {
    "small JPEG 0.3 MP": "jpeg-0.3mp",
    "medium JPEG 2 MP": "jpeg-2mp",
    "12 MP phone JPEG": "jpeg-phone-12mp",
    "24 MP JPEG": "jpeg-24mp",
    "PNG 1 MP": "png-rgb",
    "HEIC 1.2 MP": "heic",
}
TARGET_FIXTURE: Final = "jpeg-phone-12mp"
TARGET_VS_NAIVE: Final = 0.25
TARGET_VS_FLOOR: Final = 1.5
TARGET_MEMORY_VS_NAIVE: Final = 0.5
NAIVE_QUALITY: Final = 90
OUTPUT_QUALITY: Final = 85
BOXES: Final = ((DEFAULT_MAX_WIDTH, DEFAULT_MAX_HEIGHT), (DEFAULT_THUMBNAIL_SIZE, DEFAULT_THUMBNAIL_SIZE))


@dataclass(frozen=True, slots=True)
class CaseResult:
    method: str
    fixture: str
    cpu_ms: float
    """Median CPU time per photo (process time, all threads)."""
    cpu_ms_runs: list[float]
    wall_ms: float
    peak_rss_mb: float
    baseline_rss_mb: float
    output_bytes: int
    input_mb: float = 0.0

    @property
    def peak_delta_mb(self) -> float:
        """The recipe's own peak: peak RSS minus the RSS with the interpreter, libraries and input loaded."""
        return max(0.0, self.peak_rss_mb - self.baseline_rss_mb)


# ----------------------------------------------------------------------------------------- the recipes
def _fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    scale = min(box[0] / size[0], box[1] / size[1], 1.0)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def run_handler(data: bytes, output_format: str | None = None) -> int:
    from handler.config import Settings
    from handler.imaging import OutputSpec, make_renditions

    settings = Settings(processed_bucket="bench", error_topic_arn="")
    renditions = make_renditions(
        data,
        settings.renditions,
        OutputSpec(output_format or settings.output_format, settings.output_quality),
        max_pixels=settings.max_pixels,
    )
    return sum(len(r.data) for r in renditions)


def run_handler_webp(data: bytes) -> int:
    return run_handler(data, "WEBP")


def run_handler_avif(data: bytes) -> int:
    return run_handler(data, "AVIF")


def run_naive(data: bytes) -> int:
    """What most tutorials do: decode everything, LANCZOS each rendition from the full image, q90 optimize."""
    from PIL import Image, ImageOps

    img = Image.open(io.BytesIO(data))
    rgb = ImageOps.exif_transpose(img).convert("RGB")
    total = 0
    for box in BOXES:
        out = rgb.resize(_fit(rgb.size, box), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        out.save(buffer, "JPEG", quality=NAIVE_QUALITY, optimize=True)
        total += len(buffer.getvalue())
    return total


def run_floor(data: bytes) -> int:
    """The least any Pillow recipe can do: the scaled decode that covers the largest output, then one encode
    of that output's pixel count (a crop: no resampling, no second rendition)."""
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    exif = img.getexif() if img.format == "JPEG" else None
    rotated = exif is not None and exif.get(0x0112, 1) in (5, 6, 7, 8)
    displayed = (img.height, img.width) if rotated else img.size
    target = _fit(displayed, BOXES[0])
    stored = (target[1], target[0]) if rotated else target
    if img.format == "JPEG":
        img.draft("RGB", stored)
    out = img.convert("RGB").crop((0, 0, stored[0], stored[1]))
    buffer = io.BytesIO()
    out.save(buffer, "JPEG", quality=OUTPUT_QUALITY)
    return len(buffer.getvalue())


def run_pyvips(data: bytes) -> int:
    """libvips' thumbnail (shrink-on-load, auto-rotate) for the large box, the thumbnail derived from it."""
    import pyvips

    # In memory once: the thumbnail is derived from it (a sequential source cannot be read twice).
    large = pyvips.Image.thumbnail_buffer(data, BOXES[0][0], height=BOXES[0][1], size="down").copy_memory()
    small = large.thumbnail_image(BOXES[1][0], height=BOXES[1][1], size="down")
    options = f".jpg[Q={OUTPUT_QUALITY},strip]"
    return len(large.write_to_buffer(options)) + len(small.write_to_buffer(options))


RECIPES: Final[dict[str, Callable[[bytes], int]]] = {
    "handler": run_handler,
    "naive": run_naive,
    "floor": run_floor,
    "pyvips": run_pyvips,
    "handler-webp": run_handler_webp,
    "handler-avif": run_handler_avif,
}
# What the OutputFormat parameter costs: the handler with each other output format, on the target photo only.
FORMAT_METHODS: Final = ("handler-webp", "handler-avif")


# ----------------------------------------------------------------------------------------- one case
def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def peak_rss_mb() -> float:
    """This process's high-water RSS. VmHWM belongs to the address space, which exec replaces; ru_maxrss
    survives exec and would report the parent's peak (the parent built the fixtures) instead of ours."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def measure_case(method: str, data: bytes, repeat: int) -> dict[str, Any]:
    """Runs inside the fresh subprocess: imports the recipe's libraries, then warm-up + `repeat` runs."""
    recipe = RECIPES[method]
    if method == "pyvips":
        import pyvips

        pyvips.cache_set_max(0)  # no cached decode between repeats
    else:
        import pillow_heif

        pillow_heif.register_heif_opener()  # the handler registers it on import; the others need it for HEIC
        if method.startswith("handler"):
            import handler.imaging  # noqa: F401
    baseline = _rss_mb()
    output = recipe(data)  # warm-up: lazy imports, codec tables
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        recipe(data)
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return {
        "cpu_ms_runs": [round(v, 3) for v in cpu],
        "wall_ms": statistics.median(wall),
        "peak_rss_mb": peak_rss_mb(),
        "baseline_rss_mb": baseline,
        "output_bytes": output,
    }


def run_case(method: str, fixture: str, path: Path, repeat: int) -> CaseResult:
    env = dict(os.environ, VIPS_CONCURRENCY="1", OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-m", "harness.bench", "--case", method, str(path), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench case {method} on {fixture} failed:\n{done.stderr[-2000:]}")
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    return CaseResult(
        method=method,
        fixture=fixture,
        cpu_ms=statistics.median(raw["cpu_ms_runs"]),
        cpu_ms_runs=raw["cpu_ms_runs"],
        wall_ms=raw["wall_ms"],
        peak_rss_mb=raw["peak_rss_mb"],
        baseline_rss_mb=raw["baseline_rss_mb"],
        output_bytes=raw["output_bytes"],
        input_mb=path.stat().st_size / 2**20,
    )


# ----------------------------------------------------------------------------------------- import cost
IMPORT_PROBES: Final = {
    "boto3": "import boto3",
    "handler.app + Settings": (
        "import handler.app\nfrom handler.config import Settings\n"
        "Settings.from_env({'PROCESSED_BUCKET': 'b', 'ERROR_TOPIC_ARN': 'arn:aws:sns:us-west-2:1:t'})"
    ),
    "handler.app + Settings + boto3": (
        "import boto3\nimport handler.app\nfrom handler.config import Settings\n"
        "Settings.from_env({'PROCESSED_BUCKET': 'b', 'ERROR_TOPIC_ARN': 'arn:aws:sns:us-west-2:1:t'})"
    ),
}


def import_cost(code: str, runs: int) -> dict[str, float]:
    """Median wall and CPU ms of `code` in fresh interpreters (what a cold start pays, minus the runtime)."""
    probe = (
        "import time, json\nw0 = time.perf_counter(); c0 = time.process_time()\n"
        f"{code}\n"
        "w = (time.perf_counter() - w0) * 1000; c = (time.process_time() - c0) * 1000\n"
        "from harness.bench import peak_rss_mb\n"
        "print(json.dumps([w, c, peak_rss_mb()]))"
    )
    wall: list[float] = []
    cpu: list[float] = []
    rss: list[float] = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        w, c, r = json.loads(out.stdout.strip().splitlines()[-1])
        wall.append(w)
        cpu.append(c)
        rss.append(r)
    return {
        "wall_ms": statistics.median(wall),
        "cpu_ms": statistics.median(cpu),
        "rss_mb": statistics.median(rss),
    }


# ----------------------------------------------------------------------------------------- verdicts
@dataclass(frozen=True, slots=True)
class Verdict:
    name: str
    value: float
    target: float
    passed: bool


def verdicts(results: Sequence[CaseResult], fixture: str = TARGET_FIXTURE) -> list[Verdict]:
    by = {r.method: r for r in results if r.fixture == fixture}
    if not {"handler", "naive", "floor"} <= set(by):
        raise ValueError(f"the targets need handler, naive and floor on {fixture}")
    time_naive = by["handler"].cpu_ms / by["naive"].cpu_ms
    time_floor = by["handler"].cpu_ms / by["floor"].cpu_ms
    memory = by["handler"].peak_delta_mb / max(by["naive"].peak_delta_mb, 1e-9)
    return [
        Verdict("CPU time vs naive", time_naive, TARGET_VS_NAIVE, time_naive <= TARGET_VS_NAIVE),
        Verdict("CPU time vs floor", time_floor, TARGET_VS_FLOOR, time_floor <= TARGET_VS_FLOOR),
        Verdict("peak memory vs naive", memory, TARGET_MEMORY_VS_NAIVE, memory <= TARGET_MEMORY_VS_NAIVE),
    ]


def to_markdown(
    results: Sequence[CaseResult], checks: Sequence[Verdict], imports: dict[str, dict[str, float]]
) -> str:
    lines = [
        "## Handler benchmark",
        "",
        "CPU ms = median process time per photo (decode -> every output encoded); peak MB = peak RSS of a "
        "fresh process minus its RSS before the first photo.",
        "",
        "| fixture | method | CPU ms | vs naive | vs floor | peak MB | output bytes |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for fixture in dict.fromkeys(r.fixture for r in results):
        by = {r.method: r for r in results if r.fixture == fixture}
        naive, floor = by.get("naive"), by.get("floor")
        for r in by.values():
            vs_naive = f"{r.cpu_ms / naive.cpu_ms:.2f}x" if naive else "-"
            vs_floor = f"{r.cpu_ms / floor.cpu_ms:.2f}x" if floor else "-"
            lines.append(
                f"| {fixture} | {r.method} | {r.cpu_ms:,.1f} | {vs_naive} | {vs_floor} | "
                f"{r.peak_delta_mb:,.1f} | {r.output_bytes:,} |"
            )
    lines += ["", f"### Targets on {TARGET_FIXTURE}", ""]
    for check in checks:
        lines.append(
            f"- {check.name}: {check.value:.2f}x (target <= {check.target}x) "
            f"**{'PASS' if check.passed else 'FAIL'}**"
        )
    lines += ["", "### Import cost (fresh interpreter, median)", ""]
    lines += ["| import | wall ms | CPU ms | RSS MB |", "|---|---:|---:|---:|"]
    for name, cost in imports.items():
        rss = cost.get("rss_mb")
        shown = "-" if rss is None else f"{rss:,.0f}"
        lines.append(f"| {name} | {cost['wall_ms']:,.1f} | {cost['cpu_ms']:,.1f} | {shown} |")
    if "boto3" in imports and "handler.app + Settings" in imports:
        ratio = imports["handler.app + Settings"]["wall_ms"] / imports["boto3"]["wall_ms"]
        lines += ["", f"handler.app + Settings costs {ratio:.2f}x importing boto3 alone (wall time)."]
    if "boto3" in imports and "handler.app + Settings + boto3" in imports:
        # What a cold start pays for the handler: the runtime imports boto3's dependencies either way.
        alone = imports["boto3"]["wall_ms"]
        extra = imports["handler.app + Settings + boto3"]["wall_ms"] - alone
        lines.append(
            f"On top of boto3 the handler adds {extra:,.1f} ms ({(alone + extra) / alone:.2f}x boto3 alone)."
        )
    return "\n".join(lines) + "\n"


def write_chart(results: Sequence[CaseResult], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fixtures = list(dict.fromkeys(r.fixture for r in results))
    methods = [m for m in METHODS if any(r.method == m for r in results)]
    fig, (cpu_ax, mem_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / max(1, len(methods))
    for i, method in enumerate(methods):
        xs = [j + i * width for j in range(len(fixtures))]
        by = {r.fixture: r for r in results if r.method == method}
        cpu_ax.bar(xs, [by[f].cpu_ms if f in by else 0 for f in fixtures], width, label=method)
        mem_ax.bar(xs, [by[f].peak_delta_mb if f in by else 0 for f in fixtures], width, label=method)
    for ax, label in ((cpu_ax, "CPU ms per photo"), (mem_ax, "peak MB over baseline")):
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(fixtures))], fixtures, rotation=20, fontsize=8)
        ax.set_ylabel(label)
        ax.legend()
    cpu_ax.set_yscale("log")
    fig.suptitle("photopipe imaging: handler vs naive vs floor vs pyvips")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------------------- main
def template_min_memory(path: Path = Path("template/template.json")) -> int:
    """The template's MemorySize MinValue: the cost table's cheapest setting must be deployable."""
    try:
        return int(json.loads(path.read_text())["Parameters"]["MemorySize"]["MinValue"])
    except (OSError, KeyError, ValueError, TypeError):
        return 128


def prepare_fixtures(names: Sequence[str], directory: Path) -> dict[str, Path]:
    """Written once by the parent, so no case process pays (in time or RSS) for generating its input."""
    from fixtures.generate import BY_NAME, fixture_bytes

    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in names:
        path = directory / BY_NAME[name].filename
        data = fixture_bytes(name)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        paths[name] = path
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (after one warm-up)")
    parser.add_argument("--import-runs", type=int, default=7)
    parser.add_argument("--fixture", action="append", help="fixture name (default: every fixture class)")
    parser.add_argument("--method", action="append", choices=METHODS + FORMAT_METHODS)
    parser.add_argument("--out", type=Path, default=Path("reports/bench"))
    parser.add_argument(
        "--io-ms", type=float, default=60.0, help="fixed I/O time per photo for the cost model"
    )
    parser.add_argument("--case", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.import_runs < 1:
        parser.error("--repeat and --import-runs must be at least 1")

    if args.case:  # inside the fresh subprocess of one case
        method, path = args.case
        print(json.dumps(measure_case(method, Path(path).read_bytes(), args.repeat)))
        return 0

    from harness import costmodel

    fixtures = args.fixture or list(FIXTURE_CLASSES.values())
    if TARGET_FIXTURE not in fixtures:
        fixtures.insert(0, TARGET_FIXTURE)
    methods = args.method or list(METHODS)
    for required in ("handler", "naive", "floor"):
        if required not in methods:
            methods.append(required)
    paths = prepare_fixtures(fixtures, Path("build/bench-fixtures"))
    results: list[CaseResult] = []
    unsupported: list[str] = []
    for fixture in fixtures:
        for method in methods:
            try:
                result = run_case(method, fixture, paths[fixture], args.repeat)
            except RuntimeError as exc:
                if method != "pyvips":  # the peer may lack a codec; the reference recipes may not fail
                    raise
                reason = str(exc).strip().splitlines()[-1]
                unsupported.append(f"pyvips cannot process {fixture}: {reason}")
                print(f"{fixture:18} {method:8} not supported ({reason})", flush=True)
                continue
            results.append(result)
            print(
                f"{fixture:18} {method:8} {result.cpu_ms:8.1f} ms CPU  {result.peak_delta_mb:7.1f} MB peak",
                flush=True,
            )
    if not args.method:
        for method in FORMAT_METHODS:
            result = run_case(method, TARGET_FIXTURE, paths[TARGET_FIXTURE], args.repeat)
            results.append(result)
            print(f"{TARGET_FIXTURE:18} {method:8} {result.cpu_ms:8.1f} ms CPU", flush=True)
    checks = verdicts(results)
    imports = {name: import_cost(code, args.import_runs) for name, code in IMPORT_PROBES.items()}

    target = {r.method: r for r in results if r.fixture == TARGET_FIXTURE}["handler"]
    runtime = imports.get("handler.app + Settings + boto3", {}).get("rss_mb") or costmodel.RUNTIME_OVERHEAD_MB
    # Memory is sized for the largest photo of the run (its bytes + its peak), not the typical one.
    worst = max((r for r in results if r.method == "handler"), key=lambda r: r.peak_delta_mb + r.input_mb)
    table = costmodel.cost_table(
        costmodel.Workload(
            cpu_ms=target.cpu_ms,
            io_ms=args.io_ms,
            peak_mb=worst.peak_delta_mb + worst.input_mb,
            overhead_mb=runtime,
            min_memory_mb=template_min_memory(),
        )
    )
    args.out.mkdir(parents=True, exist_ok=True)
    markdown = to_markdown(results, checks, imports)
    if unsupported:
        markdown += "\n" + "\n".join(f"- {line}" for line in unsupported) + "\n"
    (args.out / "bench.md").write_text(markdown)
    (args.out / "bench.json").write_text(
        json.dumps(
            {
                "results": [asdict(r) | {"peak_delta_mb": r.peak_delta_mb} for r in results],
                "targets": [asdict(c) for c in checks],
                "imports": imports,
                "python": sys.version.split()[0],
                "machine": os.uname().machine,
                "cores": os.cpu_count(),
            },
            indent=2,
        )
        + "\n"
    )
    write_chart(results, args.out / "bench.png")
    cost_paths = costmodel.write_reports(table, args.out)
    print()
    print(markdown)
    print(costmodel.to_markdown(table))
    print(f"reports: {args.out / 'bench.md'}, {args.out / 'bench.json'}, {args.out / 'bench.png'}, ")
    print("         " + ", ".join(str(p) for p in cost_paths.values()))
    return 0 if all(c.passed for c in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
