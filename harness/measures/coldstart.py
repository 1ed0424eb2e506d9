"""`python -m harness.measures.coldstart`: what a library would add to the function's cold start.

A utility that saves a few lines in the handler is only worth adopting if its import does not cost the cold
start more than it saves: Lambda bills the init phase of every new container, and a burst of uploads starts
many. Each candidate is imported in fresh processes after what the handler already imports (its entry module
and boto3), so the figure is the extra time alone; the median of `--repeat` runs, beside the baseline itself.

Candidates are Powertools' utilities that could replace code of the handler's own: the batch processor
(partial batch responses), the typed Lambda context, and the logger's context injection (already imported
with the logger, so its cost is per call, not per import).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

BASELINE: Final = ("handler.app", "boto3")
CANDIDATES: Final = (
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.typing",
    "aws_lambda_powertools.logging.logger",
)
_PROBE: Final = """
import importlib, json, sys, time
baseline, candidate = sys.argv[1].split(","), sys.argv[2]
started = time.perf_counter()
for name in baseline:
    importlib.import_module(name)
loaded = time.perf_counter()
if candidate:
    importlib.import_module(candidate)
done = time.perf_counter()
print(json.dumps({"baseline_ms": (loaded - started) * 1000, "extra_ms": (done - loaded) * 1000}))
"""


@dataclass(frozen=True, slots=True)
class ImportCost:
    """Median import times of one candidate over fresh processes, in milliseconds."""

    module: str
    baseline_ms: float
    extra_ms: float
    runs: int


def import_cost(module: str, *, baseline: Sequence[str] = BASELINE, repeat: int = 5) -> ImportCost:
    """The extra import time of `module` after `baseline`, each run in a fresh interpreter."""
    if repeat < 1:
        raise ValueError(f"repeat={repeat}: at least one run is needed")
    runs = [_probe(baseline, module) for _ in range(repeat)]
    return ImportCost(
        module=module,
        baseline_ms=statistics.median(run["baseline_ms"] for run in runs),
        extra_ms=statistics.median(run["extra_ms"] for run in runs),
        runs=repeat,
    )


def _probe(baseline: Sequence[str], module: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-X", "frozen_modules=on", "-c", _PROBE, ",".join(baseline), module],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {module!r} after {', '.join(baseline)} failed:\n{done.stderr.strip()}")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def to_markdown(costs: Sequence[ImportCost]) -> str:
    lines = [
        "| module | extra import (ms, median) | handler + boto3 before it (ms) | runs |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{c.module}` | {c.extra_ms:.1f} | {c.baseline_ms:.0f} | {c.runs} |" for c in costs]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.measures.coldstart", description=__doc__)
    parser.add_argument("--repeat", type=int, default=7, help="fresh processes per candidate (default 7)")
    parser.add_argument("--out", type=Path, default=Path("reports/bench"), help="default reports/bench")
    parser.add_argument(
        "module", nargs="*", default=list(CANDIDATES), help="default: the Powertools candidates"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: at least 1")
    costs = [import_cost(module, repeat=args.repeat) for module in args.module]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "coldstart.json").write_text(json.dumps([asdict(c) for c in costs], indent=2) + "\n")
    table = to_markdown(costs)
    (args.out / "coldstart.md").write_text(table)
    print(table, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
