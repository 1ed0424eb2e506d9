"""The handler's renditions against the naive recipe, the decode floor and pyvips: speed and quality, one run.

Why each case runs in a fresh subprocess: Pillow's pixel buffers are C allocations that tracemalloc cannot
see, and a process's peak RSS never goes down, so the only honest peak memory of a recipe is the peak RSS of a
process that ran nothing else (minus its RSS just before the first photo). CPU time is process time (all
threads, so a multi-threaded peer is not flattered), the median of N repeats after one warm-up.

No speed figure stands without the quality figure of the same run: each case writes its renditions, and the
parent scores them against the careful reference (`harness.measures.quality`): SSIM and PSNR, colour
(CIEDE2000), and aliasing on the zone plate and the stripes. The fixtures carry detail up to their Nyquist
frequency (`fixtures.detail`).

    python -m harness.measures.bench [--repeat 5] [--out reports/bench] [--fixture detail-12mp-portrait ...]
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from handler.constants import DEFAULT_OUTPUT_QUALITY, DEFAULT_RENDITIONS

METHODS: Final = ("handler", "naive-q85", "naive-q90", "floor", "pyvips", "pyvips-margin")
# What the OutputFormats parameter and progressive JPEG cost: the handler variants, on the target photo only.
FORMAT_METHODS: Final = ("handler-baseline", "handler-webp", "handler-avif")
# The judged photo: a 12 MP phone JPEG as stored (4032 x 3024, EXIF orientation 6), shown 3024 x 4032.
TARGET_FIXTURE: Final = "detail-12mp-portrait"
DEFAULT_FIXTURES: Final = (
    "detail-12mp-portrait",
    "detail-12mp-4x3",
    "detail-13mp-just-over-4x",
    "detail-24mp-3x2",
    "detail-48mp-4x3",
    "detail-12mp-16x9",
    "detail-12mp-square",
    "detail-2mp-just-over-2x",
    "detail-12mp-heic",
    "detail-12mp-png",
    "zoneplate-12mp",
    "zoneplate-13mp-just-over-4x",
    "stripes-12mp",
)
TARGET_VS_PYVIPS: Final = 1.0
TARGET_VS_NAIVE: Final = 0.30
TARGET_MEMORY_VS_NAIVE: Final = 0.5
NAIVE_METHOD: Final = "naive-q85"
"""The naive recipe at the handler's own JPEG quality: what the targets and the quality gates compare with."""
BOXES: Final = tuple((spec.width, spec.height) for spec in DEFAULT_RENDITIONS)
RENDITION_NAMES: Final = tuple(spec.name for spec in DEFAULT_RENDITIONS)
# Scored against the reference; the floor is no rendition, and WebP/AVIF are reported by their bytes.
SCORED_METHODS: Final = ("handler", "naive-q85", "naive-q90", "pyvips", "pyvips-margin", "handler-baseline")


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
    quality: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per rendition: SSIM, PSNR, delta E, alias, stripes (`quality.RenditionQuality.as_dict`)."""

    @property
    def peak_delta_mb(self) -> float:
        """The recipe's own peak: peak RSS minus the RSS with the interpreter, libraries and input loaded."""
        return max(0.0, self.peak_rss_mb - self.baseline_rss_mb)

    def ssim(self, rendition: str) -> float | None:
        value = self.quality.get(rendition, {}).get("ssim")
        return None if value is None else float(value)


# ----------------------------------------------------------------------------------------- the recipes
Renditions = dict[str, bytes]


def _fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    from handler.imaging import fit

    return fit(size, box)


def run_handler(data: bytes, output_format: str | None = None, progressive: bool = True) -> Renditions:
    from handler.config import Settings
    from handler.imaging import OutputSpec, make_renditions

    settings = Settings(processed_bucket="bench", error_topic_arn="")
    renditions = make_renditions(
        data,
        settings.renditions,
        OutputSpec(output_format or settings.output_formats[0], settings.output_quality, progressive),
        max_pixels=settings.max_pixels,
    )
    return {r.name: r.data for r in renditions}


def run_naive(data: bytes, quality: int) -> Renditions:
    """What most tutorials do: decode everything, LANCZOS each rendition from the full image, JPEG."""
    from handler.config import Settings
    from harness.measures.quality import naive_renditions

    return naive_renditions(data, Settings(processed_bucket="bench", error_topic_arn="").renditions, quality)


def run_floor(data: bytes) -> Renditions:
    """The least any Pillow recipe can do: the scaled decode that covers the largest output, then one encode
    of that output's pixel count (a crop: no resampling, no second rendition). Speed only: not a rendition."""
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
    out.save(buffer, "JPEG", quality=DEFAULT_OUTPUT_QUALITY)
    return {"floor": buffer.getvalue()}


def run_pyvips(data: bytes) -> Renditions:
    """libvips' thumbnail (shrink-on-load, auto-rotate) for the large box, the thumbnail derived from it, both
    encoded as the handler encodes: same quality, progressive, optimised Huffman tables, no metadata."""
    import pyvips

    # In memory once: the thumbnail is derived from it (a sequential source cannot be read twice).
    large = pyvips.Image.thumbnail_buffer(data, BOXES[0][0], height=BOXES[0][1], size="down").copy_memory()
    small = large.thumbnail_image(BOXES[1][0], height=BOXES[1][1], size="down")
    options = f".jpg[Q={DEFAULT_OUTPUT_QUALITY},strip,interlace,optimize_coding]"
    return {"large": large.write_to_buffer(options), "thumbnail": small.write_to_buffer(options)}


def run_pyvips_margin(data: bytes) -> Renditions:
    """libvips as the handler's engine would be: the handler's own plan (shrink-on-load that leaves Lanczos
    its margin, lanczos3, every rendition filtered from the largest's pixels) in libvips' SIMD resampler,
    encoded as the handler encodes. The engine question is decided on this: the same quality bar."""
    import pyvips

    from handler.imaging.resample import LANCZOS_MARGIN

    header = pyvips.Image.new_from_buffer(data, "")
    orientation = header.get("orientation") if header.get_typeof("orientation") else 1
    turned = orientation in (5, 6, 7, 8)
    displayed = (header.height, header.width) if turned else (header.width, header.height)
    targets = [_fit(displayed, box) for box in BOXES]
    stored = (targets[0][1], targets[0][0]) if turned else targets[0]
    ratio = min(header.width / stored[0], header.height / stored[1])
    options: dict[str, Any] = {"access": "sequential"}
    if header.get("vips-loader").startswith("jpeg"):
        options["shrink"] = next((s for s in (8, 4, 2) if ratio / s >= LANCZOS_MARGIN), 1)
    source = pyvips.Image.new_from_buffer(data, "", **options)
    hscale, vscale = stored[0] / source.width, stored[1] / source.height
    large = (
        source.resize(hscale, vscale=vscale, kernel="lanczos3", gap=LANCZOS_MARGIN).copy_memory().autorot()
    )
    hscale, vscale = targets[1][0] / large.width, targets[1][1] / large.height
    small = large.resize(hscale, vscale=vscale, kernel="lanczos3", gap=LANCZOS_MARGIN)
    encode = f".jpg[Q={DEFAULT_OUTPUT_QUALITY},strip,interlace,optimize_coding]"
    return {"large": large.write_to_buffer(encode), "thumbnail": small.write_to_buffer(encode)}


RECIPES: Final[dict[str, Callable[[bytes], Renditions]]] = {
    "handler": run_handler,
    "naive-q85": lambda data: run_naive(data, DEFAULT_OUTPUT_QUALITY),
    "naive-q90": lambda data: run_naive(data, 90),
    "floor": run_floor,
    "pyvips": run_pyvips,
    "pyvips-margin": run_pyvips_margin,
    "handler-baseline": lambda data: run_handler(data, progressive=False),
    "handler-webp": lambda data: run_handler(data, "WEBP"),
    "handler-avif": lambda data: run_handler(data, "AVIF"),
}


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


def measure_case(method: str, data: bytes, repeat: int, save: Path) -> dict[str, Any]:
    """Runs inside the fresh subprocess: imports the recipe's libraries, then warm-up + `repeat` runs; the
    renditions of the warm-up are written under `save` for the parent to score."""
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
    save.mkdir(parents=True, exist_ok=True)
    for name, rendition in output.items():
        (save / name).write_bytes(rendition)
    return {
        "cpu_ms_runs": [round(v, 3) for v in cpu],
        "wall_ms": statistics.median(wall),
        "peak_rss_mb": peak_rss_mb(),
        "baseline_rss_mb": baseline,
        "renditions": sorted(output),
    }


def run_case(method: str, fixture: str, path: Path, repeat: int, save: Path) -> tuple[CaseResult, Renditions]:
    env = dict(os.environ, VIPS_CONCURRENCY="1", OMP_NUM_THREADS="1")
    command = [
        sys.executable,
        "-m",
        "harness.measures.bench",
        "--case",
        method,
        str(path),
        "--repeat",
        str(repeat),
    ]
    done = subprocess.run(
        [*command, "--save", str(save)], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench case {method} on {fixture} failed:\n{done.stderr[-2000:]}")
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    renditions = {name: (save / name).read_bytes() for name in raw["renditions"]}
    result = CaseResult(
        method=method,
        fixture=fixture,
        cpu_ms=statistics.median(raw["cpu_ms_runs"]),
        cpu_ms_runs=raw["cpu_ms_runs"],
        wall_ms=raw["wall_ms"],
        peak_rss_mb=raw["peak_rss_mb"],
        baseline_rss_mb=raw["baseline_rss_mb"],
        output_bytes=sum(len(r) for r in renditions.values()),
        input_mb=path.stat().st_size / 2**20,
    )
    return result, renditions


def with_quality(result: CaseResult, renditions: Renditions, reference: Any) -> CaseResult:
    """The result with its renditions' scores against `reference` (a `quality.FixtureReference`)."""
    judged = reference.judge({k: v for k, v in renditions.items() if k in RENDITION_NAMES})
    return CaseResult(**{**asdict(result), "quality": {k: v.as_dict() for k, v in judged.items()}})


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
        "from harness.measures.bench import peak_rss_mb\n"
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
    """The speed and memory targets on the judged photo (each a ratio against a case of the same run)."""
    by = {r.method: r for r in results if r.fixture == fixture}
    if not {"handler", NAIVE_METHOD, "pyvips"} <= set(by):
        raise ValueError(f"the targets need handler, {NAIVE_METHOD} and pyvips on {fixture}")
    vs_pyvips = by["handler"].cpu_ms / by["pyvips"].cpu_ms
    vs_naive = by["handler"].cpu_ms / by[NAIVE_METHOD].cpu_ms
    memory = by["handler"].peak_delta_mb / max(by[NAIVE_METHOD].peak_delta_mb, 1e-9)
    return [
        Verdict("CPU time vs pyvips thumbnail", vs_pyvips, TARGET_VS_PYVIPS, vs_pyvips <= TARGET_VS_PYVIPS),
        Verdict("CPU time vs naive", vs_naive, TARGET_VS_NAIVE, vs_naive <= TARGET_VS_NAIVE),
        Verdict("peak memory vs naive", memory, TARGET_MEMORY_VS_NAIVE, memory <= TARGET_MEMORY_VS_NAIVE),
    ]


def quality_failures(results: Sequence[CaseResult], references: Mapping[str, Any], method: str) -> list[str]:
    """The quality gates (the same rules as the tests, `quality`) for `method` on every fixture."""
    from harness.measures.quality import RenditionQuality, Scores, alias_failures, ssim_failures

    def restored(result: CaseResult) -> dict[str, RenditionQuality]:
        return {
            name: RenditionQuality(
                name,
                (q["size"][0], q["size"][1]),
                q["bytes"],
                Scores(q["ssim"], q["psnr"], q["delta_e"]),
                q["alias"],
                {int(k): v for k, v in q["stripes"].items()},
            )
            for name, q in result.quality.items()
        }

    failures: list[str] = []
    for fixture, reference in references.items():
        by = {r.method: r for r in results if r.fixture == fixture}
        if method not in by or NAIVE_METHOD not in by:
            continue
        got, naive = restored(by[method]), restored(by[NAIVE_METHOD])
        failures += ssim_failures(reference, got, naive) + alias_failures(reference, got)
    return failures


def _keyed(stripes: Mapping[int, float]) -> dict[str, float]:
    return {str(period): value for period, value in stripes.items()}


def _q(value: Any, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def to_markdown(
    results: Sequence[CaseResult],
    checks: Sequence[Verdict],
    imports: dict[str, dict[str, float]],
    gates: Mapping[str, Sequence[str]] | None = None,
    references: Mapping[str, Any] | None = None,
) -> str:
    lines = [
        "## Handler benchmark: speed and quality",
        "",
        "CPU ms = median process time per photo (decode -> every rendition encoded); peak MB = peak RSS of a "
        "fresh process minus its RSS before the first photo; SSIM/PSNR against the reference (full decode, "
        "EXIF transpose, ICC to sRGB, LANCZOS in float, no encoding); dE = mean CIEDE2000 of low-passed "
        "colour; alias = zone-plate RMS grey levels where it must be flat (reference in brackets); stripes = "
        "surviving contrast of 3 px / 5 px stripes.",
        "",
        "| fixture | method | CPU ms | vs naive | vs pyvips | peak MB | bytes | SSIM large | SSIM thumb "
        "| PSNR large | dE large | alias large / thumb | stripes large |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for fixture in dict.fromkeys(r.fixture for r in results):
        by = {r.method: r for r in results if r.fixture == fixture}
        naive, peer = by.get(NAIVE_METHOD), by.get("pyvips")
        ref = (references or {}).get(fixture)
        for r in by.values():
            vs_naive = f"{r.cpu_ms / naive.cpu_ms:.2f}x" if naive else "-"
            vs_peer = f"{r.cpu_ms / peer.cpu_ms:.2f}x" if peer else "-"
            large, thumb = r.quality.get("large", {}), r.quality.get("thumbnail", {})
            alias = "-"
            if large.get("alias") is not None:
                alias = f"{large['alias']:.2f} / {_q(thumb.get('alias'), 2)}"
                if ref is not None and ref.alias:
                    alias += f" [{ref.alias['large']:.2f} / {ref.alias['thumbnail']:.2f}]"
            stripes = "-"
            if large.get("stripes"):
                stripes = " / ".join(f"{100 * v:.1f}%" for v in large["stripes"].values())
            lines.append(
                f"| {fixture} | {r.method} | {r.cpu_ms:,.1f} | {vs_naive} | {vs_peer} | "
                f"{r.peak_delta_mb:,.1f} | {r.output_bytes:,} | {_q(large.get('ssim'))} | "
                f"{_q(thumb.get('ssim'))} | {_q(large.get('psnr'), 1)} | {_q(large.get('delta_e'), 2)} | "
                f"{alias} | {stripes} |"
            )
    lines += ["", f"### Targets on {TARGET_FIXTURE}", ""]
    for check in checks:
        lines.append(
            f"- {check.name}: {check.value:.2f}x (target <= {check.target}x) "
            f"**{'PASS' if check.passed else 'FAIL'}**"
        )
    if gates is not None:
        from harness.measures.quality import ALIAS_FACTOR, SSIM_MARGIN

        title = (
            f"SSIM >= naive - {SSIM_MARGIN} on every fixture; zone-plate alias <= {ALIAS_FACTOR}x reference"
        )
        lines += ["", f"### Quality gates ({title})", ""]
        for method, failures in gates.items():
            verdict = "**PASS**" if not failures else f"**FAIL** ({len(failures)})"
            lines.append(f"- {method}: {verdict}")
            lines += [f"  - {line}" for line in failures]
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
    """Quality against CPU, both relative to the naive recipe on the same photo (one point per fixture and
    method, so photos of different difficulty share one scale), beside peak memory per fixture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from harness.measures.quality import SSIM_MARGIN

    methods = [m for m in (*METHODS, *FORMAT_METHODS) if any(r.method == m for r in results)]
    naive = {r.fixture: r for r in results if r.method == NAIVE_METHOD}
    fig, (quality_ax, mem_ax) = plt.subplots(1, 2, figsize=(14, 5.5))
    for method in methods:
        points = [
            (
                r.cpu_ms / naive[r.fixture].cpu_ms,
                (r.ssim("large") or 0.0) - (naive[r.fixture].ssim("large") or 0.0),
            )
            for r in results
            if r.method == method and r.fixture in naive and r.ssim("large") is not None
        ]
        if points:
            quality_ax.scatter([x for x, _ in points], [y for _, y in points], label=method, alpha=0.8)
    quality_ax.axhline(-SSIM_MARGIN, color="red", linestyle="--", linewidth=1, label="quality gate")
    quality_ax.set_xscale("log")
    quality_ax.set_xlabel(f"CPU time, x the naive recipe ({NAIVE_METHOD}) on the same photo")
    quality_ax.set_ylabel("SSIM of the large rendition minus the naive recipe's")
    quality_ax.legend(fontsize=8)
    quality_ax.set_title("quality against CPU (up and left is better)")
    fixtures = list(dict.fromkeys(r.fixture for r in results))
    width = 0.8 / max(1, len(methods))
    for i, method in enumerate(methods):
        xs = [j + i * width for j in range(len(fixtures))]
        by = {r.fixture: r for r in results if r.method == method}
        mem_ax.bar(xs, [by[f].peak_delta_mb if f in by else 0 for f in fixtures], width, label=method)
    mem_ax.set_xticks([j + 0.4 - width / 2 for j in range(len(fixtures))], fixtures, rotation=35, fontsize=7)
    mem_ax.set_ylabel("peak MB over baseline")
    mem_ax.set_title("peak memory")
    mem_ax.legend(fontsize=7)
    fig.suptitle("photopipe imaging: handler vs naive vs pyvips, same run")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------------------- main
def prepare_fixtures(names: Sequence[str], directory: Path) -> dict[str, Path]:
    """Written once by the parent, so no case process pays (in time or RSS) for generating its input."""
    from fixtures.detail import BY_NAME, detail_bytes

    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown fixture(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in names:
        path = directory / f"{name}.{BY_NAME[name].format.lower()}"
        data = detail_bytes(name)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        paths[name] = path
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.measures.bench", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (after one warm-up)")
    parser.add_argument("--import-runs", type=int, default=7)
    parser.add_argument("--fixture", action="append", help="fixture name (default: every bench fixture)")
    parser.add_argument("--method", action="append", choices=METHODS + FORMAT_METHODS)
    parser.add_argument("--out", type=Path, default=Path("reports/bench"))
    parser.add_argument(
        "--io-ms", type=float, default=60.0, help="fixed I/O time per photo for the cost model"
    )
    parser.add_argument("--case", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--save", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.import_runs < 1:
        parser.error("--repeat and --import-runs must be at least 1")

    if args.case:  # inside the fresh subprocess of one case
        method, path = args.case
        if args.save is None:
            parser.error("--case needs --save")
        print(json.dumps(measure_case(method, Path(path).read_bytes(), args.repeat, args.save)))
        return 0

    from handler import capacity
    from handler.config import Settings
    from harness.measures import costmodel
    from harness.measures.quality import FixtureReference

    fixtures = args.fixture or list(DEFAULT_FIXTURES)
    if TARGET_FIXTURE not in fixtures:
        fixtures.insert(0, TARGET_FIXTURE)
    methods = args.method or list(METHODS)
    for required in ("handler", NAIVE_METHOD, "pyvips"):
        if required not in methods:
            methods.append(required)
    try:
        paths = prepare_fixtures(fixtures, Path("build/bench-fixtures"))
    except ValueError as exc:
        parser.error(str(exc))
    specs = Settings(processed_bucket="bench", error_topic_arn="").renditions
    results: list[CaseResult] = []
    references: dict[str, FixtureReference] = {}
    unsupported: list[str] = []
    for fixture in fixtures:
        references[fixture] = FixtureReference.build(fixture, specs)
        cases = methods + (list(FORMAT_METHODS) if fixture == TARGET_FIXTURE and not args.method else [])
        for method in cases:
            save = args.out / "renditions" / fixture / method
            try:
                result, renditions = run_case(method, fixture, paths[fixture], args.repeat, save)
            except RuntimeError as exc:
                if not method.startswith("pyvips"):  # the peer may lack a codec; the references may not fail
                    raise
                reason = str(exc).strip().splitlines()[-1]
                unsupported.append(f"pyvips cannot process {fixture}: {reason}")
                print(f"{fixture:28} {method:16} not supported ({reason})", flush=True)
                continue
            if method in SCORED_METHODS:
                result = with_quality(result, renditions, references[fixture])
            results.append(result)
            print(
                f"{fixture:28} {method:16} {result.cpu_ms:8.1f} ms CPU  {result.peak_delta_mb:7.1f} MB peak"
                f"  SSIM {_q(result.ssim('large'))} / {_q(result.ssim('thumbnail'))}",
                flush=True,
            )
    checks = verdicts(results)
    gates = {m: quality_failures(results, references, m) for m in ("handler", "pyvips", "pyvips-margin")}
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
            # The cost table's cheapest setting must be deployable: the template's MemorySize minimum.
            min_memory_mb=capacity.MIN_MEMORY_MB,
        )
    )
    args.out.mkdir(parents=True, exist_ok=True)
    markdown = to_markdown(results, checks, imports, gates, references)
    if unsupported:
        markdown += "\n" + "\n".join(f"- {line}" for line in unsupported) + "\n"
    (args.out / "bench.md").write_text(markdown)
    (args.out / "bench.json").write_text(
        json.dumps(
            {
                "results": [asdict(r) | {"peak_delta_mb": r.peak_delta_mb} for r in results],
                "targets": [asdict(c) for c in checks],
                "quality_gates": gates,
                "references": {
                    f: {
                        "alias": ref.alias,
                        "stripes": {k: {str(p): v for p, v in s.items()} for k, s in ref.stripes.items()},
                    }
                    for f, ref in references.items()
                },
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
    return 0 if all(c.passed for c in checks) and not gates["handler"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
