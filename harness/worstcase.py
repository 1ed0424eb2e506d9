"""Peak memory and CPU time of the worst input each accepted format can be: the facts in handler/capacity.py.

    python -m harness.worstcase [--case NAME ...] [--warmup N] [--repeats N] [--out reports/bench] [--verbose]

Each worst case (fixtures/worstcase.py) runs through `make_renditions` in processes of its own, with the
most permissive accepted settings (MAX_PIXELS at its ceiling): once in a fresh process, and once warm, after
a few ordinary photos of every format, repeated. The process has imported `handler.app` and built its boto3
clients, as a Lambda container has, so a peak is the whole process's high-water mark (VmHWM), runtime
included. CPU is user + system time of the call (all decoder threads), the figure the time guard scales;
each case's median over its runs is judged.

It then checks handler/capacity.py against what it measured: the MemorySize minimum must leave at least
MEMORY_HEADROOM over the worst peak, and the time guard must cover the worst CPU time at that memory size.
It exits 1 when either does not (the constants are stale), so `nox -s bench` fails loudly. Figures go to
`<out>/worstcase.json` and `<out>/worstcase.md`; timing on a shared machine is noisy, so every figure is a
range over repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from handler import capacity

WARMUP_PHOTOS = ("jpeg-phone-12mp", "heic", "png-rgba", "webp", "avif", "jpeg-24mp")
"""What a container has typically decoded before a big photo arrives: one photo of each common kind."""


@dataclass(frozen=True, slots=True)
class Run:
    case: str
    warm: bool
    peak_mib: float
    cpu_s: list[float]
    outcome: str


# ----------------------------------------------------------------------------------------- the child
def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(name: str, warmup: int, repeats: int) -> dict[str, Any]:
    """One process: import the function as Lambda does, optionally decode ordinary photos, then the case."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-west-2")
    from fixtures.generate import fixture_bytes
    from fixtures.worstcase import worst_bytes
    from handler import app
    from handler.config import MAX_PIXELS_CEILING, Settings
    from handler.errors import PermanentError
    from handler.imaging import OutputSpec, make_renditions

    app.default_dependencies()  # the boto3 clients a container holds
    settings = Settings("bucket", "", max_pixels=MAX_PIXELS_CEILING)
    outputs = [OutputSpec(fmt, settings.output_quality) for fmt in settings.output_formats]

    def render(data: bytes) -> str:
        try:
            make_renditions(data, settings.renditions, outputs, max_pixels=settings.max_pixels)
        except PermanentError as exc:
            return f"rejected: {exc}"
        return "processed"

    for _ in range(warmup):
        for photo in WARMUP_PHOTOS:
            render(fixture_bytes(photo))
    data = worst_bytes(name)
    cpu, outcome = [], ""
    for _ in range(repeats):
        start = _cpu()
        outcome = render(data)
        cpu.append(round(_cpu() - start, 3))
    return {"peak_mib": round(_status_mib("VmHWM"), 1), "cpu_s": cpu, "outcome": outcome}


# ----------------------------------------------------------------------------------------- the parent
def _measure(name: str, warmup: int, repeats: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "harness.worstcase", "--child", name, str(warmup), str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name}: the measuring process failed\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(names: Sequence[str], warmup: int, repeats: int, log: Any) -> list[Run]:
    """Fresh and warm runs of each case. Fixtures are built (or read from the cache) here first, so no
    measuring process pays for building one (a 50 MP picture costs far more memory than decoding it)."""
    from fixtures.generate import fixture_bytes
    from fixtures.worstcase import worst_bytes

    for photo in WARMUP_PHOTOS:
        fixture_bytes(photo)
    for name in names:
        worst_bytes(name)
    runs = []
    for name in names:
        for warm in (False, True):
            started = time.monotonic()
            result = _measure(name, warmup if warm else 0, repeats if warm else 1)
            run = Run(name, warm, result["peak_mib"], result["cpu_s"], result["outcome"])
            runs.append(run)
            label = "warm " if warm else "fresh"
            log(
                f"  {name:<24} {label} peak {run.peak_mib:7.1f} MiB  CPU "
                f"{min(run.cpu_s):.2f}-{max(run.cpu_s):.2f} s  ({time.monotonic() - started:.0f} s)"
            )
    return runs


@dataclass(frozen=True, slots=True)
class Verdict:
    worst_peak_mib: float
    worst_peak_case: str
    needed_memory_mb: int
    min_memory_mb: int
    worst_cpu_s: float
    worst_cpu_case: str
    needed_guard_ms: int
    guard_ms: int

    @property
    def ok(self) -> bool:
        return self.min_memory_mb >= self.needed_memory_mb and self.guard_ms >= self.needed_guard_ms


def case_cpu_s(runs: Sequence[Run]) -> dict[str, float]:
    """Each case's CPU time: the median over all its runs, fresh and warm. Memory peaks are steady to a few
    MiB, but on a shared machine other work only ever adds CPU time (cache and core contention), so the
    median is the figure, and the spread goes in the report."""
    samples: dict[str, list[float]] = {}
    for run in runs:
        samples.setdefault(run.case, []).extend(run.cpu_s)
    return {case: statistics.median(values) for case, values in samples.items()}


def judge(runs: Sequence[Run]) -> Verdict:
    accepted = [run for run in runs if run.outcome == "processed"]
    peak = max(accepted, key=lambda run: run.peak_mib)
    cpu = case_cpu_s(accepted)
    slow = max(cpu, key=lambda case: cpu[case])
    return Verdict(
        worst_peak_mib=peak.peak_mib,
        worst_peak_case=f"{peak.case} ({'warm' if peak.warm else 'fresh'})",
        needed_memory_mb=max(
            capacity.memory_needed_mb(peak.peak_mib),
            capacity.memory_for_time_mb(cpu[slow], capacity.SHORTEST_TIMEOUT_S),
        ),
        min_memory_mb=capacity.MIN_MEMORY_MB,
        worst_cpu_s=cpu[slow],
        worst_cpu_case=slow,
        needed_guard_ms=capacity.time_guard_ms(cpu[slow], capacity.MIN_MEMORY_MB),
        guard_ms=capacity.MIN_REMAINING_MS,
    )


def markdown(runs: Sequence[Run], verdict: Verdict) -> str:
    from fixtures.worstcase import BY_NAME

    lines = [
        "| input | format | MP | what makes it heavy | peak RSS fresh | peak RSS warm | CPU (median) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(run.case for run in runs):
        case = BY_NAME[name]
        fresh = next(r for r in runs if r.case == name and not r.warm)
        warm = next(r for r in runs if r.case == name and r.warm)
        cpu = fresh.cpu_s + warm.cpu_s
        verdict_note = "" if warm.outcome == "processed" else f" ({warm.outcome})"
        lines.append(
            f"| {name}{verdict_note} | {case.format} | {case.megapixels:.1f} | {case.detail} | "
            f"{fresh.peak_mib:.0f} MiB | {warm.peak_mib:.0f} MiB | {min(cpu):.2f}-{max(cpu):.2f} s "
            f"({statistics.median(cpu):.2f} s) |"
        )
    lines += [
        "",
        f"Worst peak: {verdict.worst_peak_mib:.0f} MiB ({verdict.worst_peak_case}); with "
        f"{capacity.MEMORY_HEADROOM:.0%} headroom, and the worst CPU time within the shortest timeout "
        f"({capacity.SHORTEST_TIMEOUT_S} s), it needs {verdict.needed_memory_mb} MB; the template's "
        f"MemorySize minimum is {verdict.min_memory_mb} MB.",
        f"Worst CPU (median): {verdict.worst_cpu_s:.2f} s ({verdict.worst_cpu_case}); at "
        f"{verdict.min_memory_mb} MB the time guard needs {verdict.needed_guard_ms} ms; MIN_REMAINING_MS is "
        f"{verdict.guard_ms} ms.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--child"]:
        print(json.dumps(_child(args[1], int(args[2]), int(args[3]))))
        return 0
    from fixtures.worstcase import CASES

    parser = argparse.ArgumentParser(prog="python -m harness.worstcase", description=__doc__.split("\n")[0])
    parser.add_argument("--case", action="append", choices=[c.name for c in CASES], help="only these cases")
    parser.add_argument("--warmup", type=int, default=2, help="rounds of ordinary photos before a warm run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the case in the warm process")
    parser.add_argument("--out", type=Path, default=Path("reports/bench"))
    parser.add_argument("--verbose", action="store_true", help="one line per process as it finishes")
    options = parser.parse_args(args)
    names = options.case or [c.name for c in CASES]

    def log(line: str) -> None:
        if options.verbose:
            print(line, flush=True)

    print(f"worst-case inputs: {len(names)} cases, fresh and warm (building uncached fixtures takes minutes)")
    runs = measure(names, options.warmup, options.repeats, log)
    verdict = judge(runs)
    report = markdown(runs, verdict)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "worstcase.md").write_text(report)
    payload = {"runs": [asdict(r) for r in runs], "verdict": asdict(verdict) | {"ok": verdict.ok}}
    (options.out / "worstcase.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(report)
    if not verdict.ok:
        print("handler/capacity.py is stale: raise MIN_MEMORY_MB / MIN_REMAINING_MS to the figures above")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
