"""One load run end to end: check the target, start (or reach) the stack, run Locust headless as a master and
N workers, write the report under reports/<timestamp>/ and exit non-zero when an SLO fails.

    python -m loadtests.run --shape day|steady|break|burst|soak [--time-scale 144] [--workers 2]
                            [--stack-name NAME --region us-west-2]    # a stack on AWS
    AWS_ENDPOINT_URL=http://127.0.0.1:PORT python -m loadtests.run --stack-name photopipe-local  # running

Without --stack-name or AWS_ENDPOINT_URL the embedded local stack is started for the run and stopped after.
The terminal shows one live panel (time of day, uploads, processed, rejected, backlog, p95 and lost so far),
then the summary; Locust's tables, botocore's and the local stack's lines go to run.log in the report folder
(--verbose: to the terminal, as Locust prints them; --json: only the report's JSON on stdout).
Exit codes: 0 every SLO held, 1 an SLO failed, 2 the run was refused before any load (the message says why).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import boto3
from rich.console import Console

from harness.contract import DEFAULT_STACK_NAME
from harness.outputs import StackOutput
from harness.params import InvalidInputError, parse_assignments
from loadtests import cpu as cpu_parts
from loadtests import options as opts
from loadtests import report
from loadtests.console import follow
from loadtests.coordinator import stack_layout
from loadtests.drift import drift_after_run, with_drift
from loadtests.layout import LayoutError, RenditionLayout, read_layout
from loadtests.machine import machine_figures
from loadtests.memory import rss_summary
from loadtests.mix import MixError
from loadtests.processes import ROOT, LocustRun, stop
from loadtests.shapes import ShapeError
from loadtests.target import TargetError, resolve

log = logging.getLogger("photopipe.load")
LOG_FILE = "run.log"
DRAIN_ALLOWANCE_S = 600.0  # beyond the load and the end-to-end timeout: the drain, read-back and report


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    opts.add_arguments(parser)
    parser.set_defaults(stack_name=None)
    parser.add_argument("--workers", type=int, default=2, help="Locust worker processes (0: one process)")
    parser.add_argument(
        "--local-param", action="append", default=[], metavar="K=V", help="parameter of the local stack"
    )
    parser.add_argument("--run-timeout", type=float, default=None, help="seconds before the run is killed")
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--verbose", action="store_true", help="Locust's own output in the terminal instead of the panel"
    )
    output.add_argument("--json", action="store_true", help="print only the report's JSON on stdout")
    return parser.parse_args(argv)


@dataclass(frozen=True)
class Stage:
    """What the load goes to: the stack, the environment Locust's processes get, the function's layout."""

    stack_name: str
    env: dict[str, str]
    layout: RenditionLayout
    stack: Any = None
    """The embedded local stack when the run started one (harness.emulator.EmbeddedStack), else None."""

    @property
    def describe(self) -> str:
        endpoint = self.env.get("AWS_ENDPOINT_URL")
        return f"stack {self.stack_name}" + (
            f" at {endpoint}" if endpoint else f" in {self.env['AWS_DEFAULT_REGION']}"
        )


@contextlib.contextmanager
def _stage(args: argparse.Namespace, parameters: dict[str, str], report_dir: Path) -> Iterator[Stage]:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if args.stack_name or endpoint:
        stack_name = args.stack_name or DEFAULT_STACK_NAME
        target = resolve(stack_name, args.region, endpoint)
        env = dict(os.environ, AWS_DEFAULT_REGION=target.region)
        yield Stage(stack_name, env, stack_layout(target))
        return
    from harness.emulator import EmbeddedStack

    log.info("starting the embedded local stack")
    if not (args.json or args.verbose):  # --verbose: the log line above says it
        print("starting the embedded local stack ...", flush=True)
    stack = EmbeddedStack(
        port=0, stack_name=DEFAULT_STACK_NAME, parameters=parameters, workdir=Path("build/local")
    )
    stack.server.log_path = report_dir / "moto-server.log"  # the server's own lines, beside the run's log
    with stack:
        env = dict(
            os.environ,
            AWS_ENDPOINT_URL=stack.endpoint_url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_SESSION_TOKEN="testing",
            AWS_DEFAULT_REGION=stack.region,
            AWS_REGION=stack.region,
        )
        env.pop("AWS_PROFILE", None)
        args.region = stack.region
        log.info("local stack %s at %s", stack.stack_name, stack.endpoint_url)
        function = stack.outputs[StackOutput.FUNCTION_NAME]
        yield Stage(stack.stack_name, env, read_layout(stack.session().client("lambda"), function), stack)


@contextlib.contextmanager
def _run_log(path: Path, verbose: bool) -> Iterator[IO[bytes] | None]:
    """This process's log lines (the local stack's runtime, botocore) and Locust's output go to `path`,
    unless --verbose leaves them all on the terminal."""
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as output:
        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter("[%(asctime)s] run.py/%(levelname)s/%(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            yield output
        finally:
            root.removeHandler(handler)
            handler.close()


def _locust(
    args: argparse.Namespace, stage: Stage, report_dir: Path, output: IO[bytes] | None, title: str
) -> int:
    """Runs Locust to its end (or the run timeout); the live panel meanwhile unless --verbose or --json."""
    timeout = args.run_timeout
    options = ["--stack-name", stage.stack_name, *opts.forwarded(args)]
    with LocustRun(options, report_dir, stage.env, args.workers, output) as master:
        if args.verbose or args.json:
            try:
                return master.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                code = None
        else:
            code = follow(
                master, report_dir, Console(), title=title, timeout=timeout, p95_threshold_ms=args.p95_ms
            )
        if code is None:
            print(f"error: the run did not end within {timeout:.0f} s; stopped", file=sys.stderr)
            stop(master)
            return 1
        return code


def _drift(stage: Stage, report_dir: Path) -> dict[str, Any] | None:
    """Reconcile's view of the stack after the run, or None when no report was written to add it to."""
    if not (report_dir / "report.json").exists():
        return None
    if stage.stack is not None:
        session = stage.stack.session()
    else:
        session = boto3.Session(region_name=stage.env["AWS_DEFAULT_REGION"])
    log.info("comparing the stack's uploads with its renditions")
    return drift_after_run(session, stage.stack_name)


def _worker_stats(stack: Any) -> Any:
    """The local runtime's per-worker figures as JSON values; None without a local stack."""
    if stack is None:
        return None
    return json.loads(json.dumps(stack.worker_stats(), default=str))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        opts.check_users(args)
        mix = opts.fixture_mix(args)
        spec = opts.shape_spec(args)
        parameters = parse_assignments(args.local_param)
    except (opts.OptionError, MixError, ShapeError, InvalidInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    args.run_id = args.run_id or f"{stamp.lower()}-{spec.name}"
    report_dir = Path(args.report_dir or ROOT / "reports" / f"{stamp}-{spec.name}")
    args.report_dir = str(report_dir)
    args.run_timeout = args.run_timeout or (
        spec.load_seconds + args.lifecycle_delay + args.e2e_timeout + DRAIN_ALLOWANCE_S
    )
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        with (
            _run_log(report_dir / LOG_FILE, args.verbose) as output,
            _stage(args, parameters, report_dir) as stage,
        ):
            if args.verbose:
                log.info("load run %s against %s", args.run_id, stage.describe)
            elif not args.json:
                print(f"load run {args.run_id} against {stage.describe}; log: {report_dir / LOG_FILE}")
            cpu_ms = cpu_parts.imaging_ms_per_photo(mix, stage.layout.settings)
            endpoint = stage.env.get("AWS_ENDPOINT_URL", "")
            if endpoint:
                cpu_parts.read_ledger(endpoint, reset=True)
            sampler = cpu_parts.CpuSampler(
                in_process_server=stage.stack is not None and stage.stack.server.in_process
            )
            sampler.start()
            started = time.time()
            title = f"photopipe load {spec.name} - {stage.stack_name}"
            code = _locust(args, stage, report_dir, output, title)
            elapsed = time.time() - started
            drift = _drift(stage, report_dir)
            cpu = sampler.stop()
            ledger = cpu_parts.read_ledger(endpoint) if endpoint else {}
            workers = _worker_stats(stage.stack)
    except (TargetError, LayoutError, InvalidInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = report_dir / "report.json"
    if not path.exists():
        print(f"error: the run wrote no report (exit {code}); see {report_dir / LOG_FILE}", file=sys.stderr)
        return code or 1
    data = json.loads(path.read_text())
    data["machine"] = machine_figures(
        data,
        cpu_ms=cpu_ms,
        cpu=cpu,
        elapsed=elapsed,
        busiest=sampler.busiest_minute(),
        memory=rss_summary(sampler.worker_rss, started),
        ledger=ledger,
        function_workers=workers,
    )
    if drift is not None:
        data = with_drift(data, drift)
        code = code or (0 if data["accounting"]["passed"] else 1)
    paths = report.write(report_dir, data)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    elif args.verbose:
        print("\n".join(report.machine_markdown(data["machine"])), flush=True)
    else:
        logs = {"log": report_dir / LOG_FILE, "locust": report_dir / "locust.html"}
        print(report.summary(data, {**paths, **logs}), flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
