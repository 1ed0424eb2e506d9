"""One load run end to end: check the target, start (or reach) the stack, run Locust headless as a master and
N workers, write the report under reports/<timestamp>/ and exit non-zero when an SLO fails.

    python -m loadtests.run --shape day|steady|break|burst|soak [--time-scale 144] [--workers 2]
                            [--stack-name NAME --region us-west-2]    # a stack on AWS
    AWS_ENDPOINT_URL=http://127.0.0.1:PORT python -m loadtests.run --stack-name photopipe-local  # running

Without --stack-name or AWS_ENDPOINT_URL the embedded local stack is started for the run and stopped after.
Exit codes: 0 every SLO held, 1 an SLO failed, 2 the run was refused before any load (the message says why).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from loadtests import cpu as cpu_parts
from loadtests import options as opts
from loadtests.memory import rss_line, rss_summary
from loadtests.mix import FixtureMix, MixError
from loadtests.shapes import ShapeError
from loadtests.target import TargetError, resolve

ROOT = Path(__file__).resolve().parent.parent
FORWARDED = (
    *("shape", "time_scale", "photos_per_day", "volume_scale", "peak_to_mean", "rate", "duration"),
    *("break_start", "break_factor", "break_step", "break_steps", "burst_photos", "burst_seconds", "mix"),
    *("uploaders", "album_users", "album_size", "album_share", "e2e_timeout", "p95_ms", "region", "run_id"),
    *("key_prefix", "report_dir", "misdirect", "metrics_delay"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    return parser.parse_args(argv)


def _locust_args(args: argparse.Namespace, stack_name: str) -> list[str]:
    forwarded: list[str] = ["--stack-name", stack_name]
    for name in FORWARDED:
        value = getattr(args, name)
        if value is None or value == "":
            continue
        forwarded += [f"--{name.replace('_', '-')}", str(value)]
    return forwarded


def cpu_ms_per_photo(mix: FixtureMix) -> float:
    """The mix's CPU time per photo through the handler's imaging on this machine (median of 3 each)."""
    import statistics

    from fixtures.generate import fixture_bytes
    from handler.config import Settings
    from handler.imaging import OutputSpec, make_renditions

    settings = Settings(processed_bucket="x", error_topic_arn="")
    output = OutputSpec(settings.output_format, settings.output_quality)
    total = 0.0
    for name, share in mix.shares.items():
        data = fixture_bytes(name)
        runs = []
        for _ in range(3):
            started = time.process_time()
            with contextlib.suppress(Exception):
                make_renditions(data, settings.renditions, output, max_pixels=settings.max_pixels)
            runs.append(time.process_time() - started)
        total += share * statistics.median(runs) * 1000
    return total


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[tuple[str, dict[str, str], Any]]:
    """(stack name, environment for Locust, local stack or None)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if args.stack_name or endpoint:
        stack_name = args.stack_name or "photopipe-local"
        target = resolve(stack_name, args.region, endpoint)
        yield stack_name, dict(os.environ, AWS_DEFAULT_REGION=target.region), None
        return
    from harness.emulator import EmbeddedStack

    parameters = dict(item.split("=", 1) for item in args.local_param)
    print("starting the embedded local stack ...", flush=True)
    with EmbeddedStack(
        port=0, stack_name="photopipe-local", parameters=parameters, workdir=Path("build/local")
    ) as stack:
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
        print(f"local stack {stack.stack_name} at {stack.endpoint_url}", flush=True)
        yield stack.stack_name, env, stack


def _spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def _stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_locust(
    args: argparse.Namespace, stack_name: str, env: dict[str, str], report_dir: Path, timeout: float
) -> int:
    base = [sys.executable, "-m", "locust", "-f", "loadtests"]
    custom = _locust_args(args, stack_name)
    reports = ["--html", str(report_dir / "locust.html"), "--csv", str(report_dir / "locust")]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        if args.workers == 0:
            master = _spawn([*base, "--headless", *reports, *custom], env)
        else:
            port = free_port()
            master = _spawn(
                [
                    *base,
                    "--headless",
                    "--master",
                    "--master-bind-host",
                    "127.0.0.1",
                    "--master-bind-port",
                    str(port),
                    "--expect-workers",
                    str(args.workers),
                    *reports,
                    *custom,
                ],
                env,
            )
            for _ in range(args.workers):
                processes.append(
                    _spawn(
                        [
                            *base,
                            "--worker",
                            "--master-host",
                            "127.0.0.1",
                            "--master-port",
                            str(port),
                            *custom,
                        ],
                        env,
                    )
                )
        try:
            code = master.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"error: the run did not end within {timeout:.0f} s; stopped", file=sys.stderr)
            _stop(master)
            code = 1
        return code
    finally:
        for process in processes:
            _stop(process)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        opts.check_users(args)
        mix = opts.fixture_mix(args)
        spec = opts.shape_spec(args)
    except (opts.OptionError, MixError, ShapeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    args.run_id = args.run_id or f"{stamp.lower()}-{spec.name}"
    report_dir = Path(args.report_dir or ROOT / "reports" / f"{stamp}-{spec.name}")
    args.report_dir = str(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    timeout = args.run_timeout or spec.load_seconds + args.e2e_timeout + 600
    try:
        with _target(args) as (stack_name, env, stack):
            cpu_ms = cpu_ms_per_photo(mix)
            endpoint = env.get("AWS_ENDPOINT_URL", "")
            if endpoint:
                cpu_parts.read_ledger(endpoint, reset=True)
            sampler = cpu_parts.CpuSampler(in_process_server=stack is not None and stack.server.in_process)
            sampler.start()
            started = time.time()
            code = run_locust(args, stack_name, env, report_dir, timeout)
            elapsed = time.time() - started
            cpu = sampler.stop()
            ledger = cpu_parts.read_ledger(endpoint) if endpoint else {}
            machine = machine_report(
                report_dir,
                cpu_ms,
                cpu,
                elapsed,
                stack,
                sampler.busiest_minute(),
                rss_summary(sampler.worker_rss, started),
                ledger,
            )
    except TargetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(machine, flush=True)
    print(f"reports: {report_dir}", flush=True)
    return code


def machine_report(
    report_dir: Path,
    cpu_ms: float,
    cpu: dict[str, float],
    elapsed: float,
    stack: Any,
    busiest: dict[str, float],
    memory: dict[str, Any] | None = None,
    ledger: dict[str, dict[str, float]] | None = None,
) -> str:
    """This machine's limit (cores / CPU time per photo) against what the run sustained, and where the CPU
    went; appended to the run's report."""
    cores = os.cpu_count() or 1
    limit = cores / (cpu_ms / 1000) if cpu_ms > 0 else None
    path = report_dir / "report.json"
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    throughput = (data.get("throughput") or {}).get("busiest_minute_per_s")
    held = (data.get("break") or {}).get("highest_held_rate")
    sustained = held if held is not None else throughput
    share = sustained / limit if sustained and limit else None
    total_cpu = sum(cpu.values())
    counts = (data.get("accounting") or {}).get("counts") or {}
    imaging = (counts.get("processed", 0) + counts.get("rejected", 0)) * cpu_ms / 1000
    photos = int(counts.get("uploads", 0))
    rows = cpu_parts.per_photo_rows(cpu, ledger or {}, photos, cpu_ms)
    emulator_ms = cpu_parts.emulator_ms_per_photo(cpu, photos)
    machine = {
        "cores": cores,
        "cpu_ms_per_photo_mix": round(cpu_ms, 2),
        "limit_photos_per_s": None if limit is None else round(limit, 2),
        "sustained_photos_per_s": sustained,
        "share_of_limit": None if share is None else round(share, 3),
        "cpu_seconds_by_part": cpu,
        "wall_seconds": round(elapsed, 1),
        "cpu_utilisation_of_machine": round(total_cpu / (elapsed * cores), 3) if elapsed else None,
        "busiest_minute_cores": busiest,
        "imaging_cpu_seconds": round(imaging, 2),
        "imaging_share_of_cpu_used": round(imaging / total_cpu, 3) if total_cpu else None,
        "function_workers": _worker_stats(stack),
        "function_worker_rss": memory or {},
        "emulator_cpu_ms_per_photo": None if emulator_ms is None else round(emulator_ms, 2),
        "emulator_to_imaging": round(emulator_ms / cpu_ms, 3) if emulator_ms is not None and cpu_ms else None,
        "cpu_ms_per_photo_by_part": [{"part": p, "ms": round(ms, 3), "note": n} for p, ms, n in rows],
        "server_ledger": ledger or {},
    }
    if data:
        data["machine"] = machine
        path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    lines = [
        "",
        "## This machine",
        "",
        f"{cores} cores; the mix costs {cpu_ms:.1f} ms CPU per photo in the handler's imaging, "
        f"so the limit is {'-' if limit is None else f'{limit:.1f}'} photos/s. Sustained: "
        f"{'-' if sustained is None else f'{sustained:.2f}'} photos/s"
        + (f" ({share:.0%} of the limit)." if share is not None else "."),
        "",
        "| part | CPU s | share |",
        "|---|---:|---:|",
        *[f"| {k} | {v:,.1f} | {v / total_cpu:.0%} |" for k, v in cpu.items() if total_cpu],
        "",
        f"Machine CPU use over the run: {machine['cpu_utilisation_of_machine']:.0%} of {cores} cores "
        f"for {elapsed:,.0f} s; the imaging itself (photos x {cpu_ms:.1f} ms) is {imaging:,.1f} s, "
        f"{imaging / total_cpu if total_cpu else 0:.0%} of the CPU the run used."
        if elapsed
        else "",
        "",
        "Cores used in the run's busiest minute: "
        + ", ".join(f"{k} {v:.2f}" for k, v in busiest.items())
        + f" (of {cores}).",
    ]
    if rows:
        lines += [
            "",
            f"CPU per photo ({photos:,} photos; process and thread CPU clocks, the server by operation):",
            "",
            "| part | ms per photo | |",
            "|---|---:|---|",
            *[f"| {part} | {ms:.2f} | {note} |" for part, ms, note in rows],
        ]
    if memory:
        lines += ["", rss_line(memory)]
    text = "\n".join(lines) + "\n"
    markdown = report_dir / "report.md"
    if markdown.exists():
        markdown.write_text(markdown.read_text() + text)
    return text


def _worker_stats(stack: Any) -> Any:
    if stack is None:
        return None
    with contextlib.suppress(Exception):
        stats = stack.worker_stats()
        return json.loads(json.dumps(stats, default=str))
    return None


if __name__ == "__main__":
    raise SystemExit(main())
