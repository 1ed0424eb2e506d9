"""What one photo costs on Lambda at each memory size and architecture, from the CPU time measured here.

Shaped like aws-lambda-power-tuning's output, but predicted instead of measured on AWS: Lambda gives a
function a share of one vCPU proportional to its memory (a full vCPU at 1,769 MB), and this handler is
single-threaded, so above 1,769 MB it only pays more for the same speed. Duration = CPU time / CPU share +
fixed I/O time (S3 GET/PUTs, SNS), which does not shrink with memory. Everything here is a pure function so
the model can be tested and re-run with other prices or measurements.

    python -m harness.measures.costmodel --cpu-ms 35 [--io-ms 60] [--peak-mb 180] [--out reports/bench]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from handler.constants import DEFAULT_OUTPUT_FORMATS, DEFAULT_RENDITIONS

FULL_VCPU_MB: Final = 1769
MEMORY_SIZES_MB: Final = (128, 256, 512, 768, 1024, 1536, 1769, 2048, 3008)
ARCHITECTURES: Final = ("x86_64", "arm64")
PHOTOS: Final = 1_000_000
# The Lambda runtime with the handler and boto3 imported (measured by the bench as a fresh process's RSS).
RUNTIME_OVERHEAD_MB: Final = 60.0


@dataclass(frozen=True, slots=True)
class Prices:
    """USD list prices, us-west-2 (US West, Oregon), first pricing tier, as published on
    aws.amazon.com/lambda/pricing, /sqs/pricing and /s3/pricing (read 2026-11; unchanged since 2022)."""

    region: str = "us-west-2"
    as_of: str = "2026-11"
    gb_second: dict[str, float] = field(
        default_factory=lambda: {"x86_64": 0.0000166667, "arm64": 0.0000133334}
    )
    per_request: float = 0.20 / 1_000_000
    sqs_per_request: float = 0.40 / 1_000_000
    s3_put_per_request: float = 0.005 / 1_000
    s3_get_per_request: float = 0.0004 / 1_000


@dataclass(frozen=True, slots=True)
class Workload:
    """Per photo: `cpu_ms` of single-core CPU time on this machine (x86_64) for decode + renditions,
    `io_ms` of fixed wall time for the AWS calls, the peak memory the photo needs, and the per-photo
    request counts the pipeline makes around the function."""

    cpu_ms: float
    io_ms: float = 60.0
    peak_mb: float = 0.0
    """The photo's own peak memory (decode and renditions, plus its bytes) on top of `overhead_mb`."""
    overhead_mb: float = RUNTIME_OVERHEAD_MB
    min_memory_mb: int = 128
    """The smallest memory size the deployment allows (the template's MemorySize MinValue)."""
    batch_size: int = 10
    renditions: int = len(DEFAULT_RENDITIONS) * len(DEFAULT_OUTPUT_FORMATS)
    """Rendition objects written per photo (one PUT each): the Renditions list times the OutputFormats."""
    arm64_cpu_factor: float = 1.15
    """Assumption (this machine is x86_64): Graviton CPU time for Pillow/libjpeg-turbo relative to x86_64."""
    sqs_requests: int = 3
    """S3 -> SQS send, the poller's receive and delete (a share of batched calls, counted whole: an upper
    bound)."""


@dataclass(frozen=True, slots=True)
class Setting:
    architecture: str
    memory_mb: int
    cpu_share: float
    duration_ms: float
    billed_ms: int
    fits: bool
    lambda_usd_per_million: float
    total_usd_per_million: float


@dataclass(frozen=True, slots=True)
class CostTable:
    workload: Workload
    prices: Prices
    settings: list[Setting]
    cheapest: Setting
    fastest: Setting
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "workload": asdict(self.workload),
            "prices": asdict(self.prices),
            "settings": [asdict(s) for s in self.settings],
            "cheapest": asdict(self.cheapest),
            "fastest": asdict(self.fastest),
            "notes": self.notes,
        }


def cpu_share(memory_mb: int) -> float:
    """The fraction of one vCPU Lambda allots at this memory size; a single-threaded handler uses no more."""
    if memory_mb <= 0:
        raise ValueError(f"memory must be positive, got {memory_mb} MB")
    return min(1.0, memory_mb / FULL_VCPU_MB)


def duration_ms(workload: Workload, memory_mb: int, architecture: str) -> float:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of {', '.join(ARCHITECTURES)}")
    factor = workload.arm64_cpu_factor if architecture == "arm64" else 1.0
    return workload.cpu_ms * factor / cpu_share(memory_mb) + workload.io_ms


def lambda_cost_per_photo(workload: Workload, memory_mb: int, architecture: str, prices: Prices) -> float:
    """Duration is billed per started millisecond; one request is shared by the photos of a batch."""
    billed = math.ceil(duration_ms(workload, memory_mb, architecture))
    gb_seconds = memory_mb / 1024 * billed / 1000
    return gb_seconds * prices.gb_second[architecture] + prices.per_request / workload.batch_size


def around_cost_per_photo(workload: Workload, prices: Prices) -> float:
    """SQS requests and S3 requests (the upload's PUT, the function's GET, a PUT per rendition)."""
    return (
        workload.sqs_requests * prices.sqs_per_request
        + (1 + workload.renditions) * prices.s3_put_per_request
        + prices.s3_get_per_request
    )


def fits(workload: Workload, memory_mb: int) -> bool:
    return workload.peak_mb + workload.overhead_mb <= memory_mb and memory_mb >= workload.min_memory_mb


def setting(workload: Workload, memory_mb: int, architecture: str, prices: Prices) -> Setting:
    lambda_usd = lambda_cost_per_photo(workload, memory_mb, architecture, prices) * PHOTOS
    return Setting(
        architecture=architecture,
        memory_mb=memory_mb,
        cpu_share=round(cpu_share(memory_mb), 4),
        duration_ms=round(duration_ms(workload, memory_mb, architecture), 2),
        billed_ms=math.ceil(duration_ms(workload, memory_mb, architecture)),
        fits=fits(workload, memory_mb),
        lambda_usd_per_million=round(lambda_usd, 4),
        total_usd_per_million=round(lambda_usd + around_cost_per_photo(workload, prices) * PHOTOS, 4),
    )


def cost_table(
    workload: Workload,
    prices: Prices | None = None,
    memory_sizes: Sequence[int] = MEMORY_SIZES_MB,
    architectures: Sequence[str] = ARCHITECTURES,
) -> CostTable:
    """Every (architecture, memory) setting; cheapest and fastest among those the photo fits in
    (ties broken by the other criterion)."""
    prices = prices or Prices()
    # The template's smallest allowed size is always a row: it is the cheapest a deployed stack can run at.
    memory_sizes = sorted({*memory_sizes, workload.min_memory_mb})
    rows = [setting(workload, m, a, prices) for a in architectures for m in memory_sizes]
    candidates = [row for row in rows if row.fits]
    if not candidates:
        raise ValueError(
            f"a photo needing {workload.peak_mb:.0f} MB (+{workload.overhead_mb:.0f} MB runtime) "
            "fits in none of "
            f"{', '.join(str(m) for m in memory_sizes)} MB"
        )
    cheapest = min(candidates, key=lambda r: (r.lambda_usd_per_million, r.duration_ms))
    fastest = min(candidates, key=lambda r: (r.duration_ms, r.lambda_usd_per_million))
    notes = [
        f"CPU share = memory / {FULL_VCPU_MB} MB, capped at one vCPU: the handler is single-threaded.",
        f"arm64 CPU time = {workload.arm64_cpu_factor} x the x86_64 time measured here (assumption).",
        f"fixed I/O time {workload.io_ms:g} ms per photo (S3 GET + {workload.renditions} PUTs, stated, "
        "not measured on AWS).",
        f"prices: {prices.region}, list prices as of {prices.as_of}; Lambda request price shared by a batch "
        f"of {workload.batch_size}.",
        f"a setting 'fits' when the photo's peak {workload.peak_mb:.0f} MB + {workload.overhead_mb:.0f} MB "
        f"runtime is within the memory size and the size is at least {workload.min_memory_mb} MB (the "
        "template's minimum); the others are shown for comparison only.",
    ]
    return CostTable(workload, prices, rows, cheapest, fastest, notes)


# ----------------------------------------------------------------------------------------- rendering
def to_markdown(table: CostTable) -> str:
    w = table.workload
    lines = [
        "## Lambda cost model",
        "",
        f"Per photo: {w.cpu_ms:.1f} ms CPU (x86_64, measured), {w.io_ms:g} ms I/O, peak {w.peak_mb:.0f} MB.",
        "",
        "| arch | memory MB | CPU share | duration ms | fits | Lambda $/M photos | total $/M photos |",
        "|---|---:|---:|---:|:-:|---:|---:|",
    ]
    for row in table.settings:
        mark = " **cheapest**" if row == table.cheapest else ""
        mark += " **fastest**" if row == table.fastest else ""
        lines.append(
            f"| {row.architecture} | {row.memory_mb}{mark} | {row.cpu_share:.2f} | {row.duration_ms:,.1f} | "
            f"{'yes' if row.fits else 'no'} | {row.lambda_usd_per_million:,.2f} | "
            f"{row.total_usd_per_million:,.2f} |"
        )
    c, f = table.cheapest, table.fastest
    lines += [
        "",
        f"Cheapest: {c.architecture} at {c.memory_mb} MB, ${c.lambda_usd_per_million:,.2f} (Lambda) / "
        f"${c.total_usd_per_million:,.2f} (with SQS + S3 requests) per million photos, "
        f"{c.duration_ms:,.0f} ms.",
        f"Fastest: {f.architecture} at {f.memory_mb} MB, {f.duration_ms:,.0f} ms, "
        f"${f.lambda_usd_per_million:,.2f} (Lambda) per million photos.",
        "",
        *[f"- {note}" for note in table.notes],
        "",
    ]
    return "\n".join(lines)


def write_chart(table: CostTable, path: Path) -> Path:
    """Duration and $ per million photos against memory, one line per architecture (power-tuning style)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, left = plt.subplots(figsize=(8, 4.5))
    right = left.twinx()
    for arch, style in zip(table.prices.gb_second, ("-", "--"), strict=False):
        rows = [r for r in table.settings if r.architecture == arch]
        memory = [r.memory_mb for r in rows]
        left.plot(memory, [r.duration_ms for r in rows], "o" + style, color="tab:blue", label=f"{arch} ms")
        right.plot(
            memory, [r.lambda_usd_per_million for r in rows], "s" + style, color="tab:red", label=f"{arch} $"
        )
    left.set_xlabel("memory (MB)")
    left.set_ylabel("duration per photo (ms)", color="tab:blue")
    right.set_ylabel("Lambda $ per million photos", color="tab:red")
    left.axvline(FULL_VCPU_MB, color="grey", linewidth=0.8)
    handles = left.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    labels = left.get_legend_handles_labels()[1] + right.get_legend_handles_labels()[1]
    left.legend(handles, labels, loc="upper center")
    left.set_title(f"photopipe cost model ({table.prices.region}, {table.workload.cpu_ms:.0f} ms CPU/photo)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_reports(table: CostTable, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "costmodel.json",
        "markdown": out_dir / "costmodel.md",
        "png": out_dir / "costmodel.png",
    }
    paths["json"].write_text(json.dumps(table.to_json(), indent=2) + "\n")
    paths["markdown"].write_text(to_markdown(table))
    write_chart(table, paths["png"])
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.measures.costmodel", description=__doc__)
    parser.add_argument("--cpu-ms", type=float, required=True, help="CPU time per photo on this machine")
    defaults = Workload(cpu_ms=1.0)
    parser.add_argument("--io-ms", type=float, default=defaults.io_ms)
    parser.add_argument("--peak-mb", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--arm64-factor", type=float, default=defaults.arm64_cpu_factor)
    parser.add_argument("--out", type=Path, default=Path("reports/bench"))
    args = parser.parse_args(argv)
    if args.cpu_ms <= 0 or args.io_ms < 0 or args.batch_size < 1 or args.arm64_factor <= 0:
        parser.error("--cpu-ms and --arm64-factor must be positive, --io-ms >= 0, --batch-size >= 1")
    workload = Workload(
        cpu_ms=args.cpu_ms,
        io_ms=args.io_ms,
        peak_mb=args.peak_mb,
        batch_size=args.batch_size,
        arm64_cpu_factor=args.arm64_factor,
    )
    try:
        table = cost_table(workload)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    paths = write_reports(table, args.out)
    print(to_markdown(table))
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
