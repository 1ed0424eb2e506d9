"""`python -m harness local`: run the embedded local stack until Ctrl-C (or SIGTERM), or `--explain` it.

The console shows the endpoint, the outputs and one line per photo; the deploy's tables go to LOG_NAME in
the work directory (with `--verbose`, to the console too), the moto server's own output to moto-server.log
beside it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.contract import DEFAULT_STACK_NAME, ROOT
from harness.emulator.coverage import NOT_EMULATED, rows
from harness.emulator.photolog import photo_line
from harness.emulator.stack import EmbeddedStack
from harness.params import InvalidInputError, load_template, parse_assignments, validate_stack_name

LOG_NAME = "local.log"


def _stack_name(value: str) -> str:
    try:
        return validate_stack_name(value)
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r}: a TCP port from 0 (any free port) to 65535")
    return int(value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=_port, default=5000, help="moto server port on 127.0.0.1 (0 = free port)"
    )
    parser.add_argument(
        "--stack-name", type=_stack_name, default=DEFAULT_STACK_NAME, help=f"default {DEFAULT_STACK_NAME}"
    )
    parser.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="template parameter (repeatable)"
    )
    parser.add_argument("--workdir", type=Path, default=Path("build/local"), help="default build/local")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="print the deploy's change set and every stack output table here too (default: in the log file)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print what the local stack emulates and what it does not, and exit",
    )


def coverage_table() -> Table:
    table = Table(title="template/template.json on the local stack", title_justify="left")
    for column in ("resource", "property", "how", "detail"):
        table.add_column(column, overflow="fold")
    for row in rows(load_template()):
        decision = row.decision
        how = decision.how if decision else "UNDECIDED"
        style = "red" if how in (NOT_EMULATED, "UNDECIDED") else None
        table.add_row(
            row.logical_id if not row.property else "",
            row.property or f"({row.resource_type})",
            how,
            decision.detail if decision else "",
            style=style,
        )
    return table


def explain(console: Console, as_json: bool) -> int:
    if as_json:
        data = [
            {
                "logical_id": row.logical_id,
                "type": row.resource_type,
                "property": row.property,
                "how": row.decision.how if row.decision else None,
                "detail": row.decision.detail if row.decision else None,
            }
            for row in rows(load_template())
        ]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        console.print(coverage_table())
        console.print(
            "moto = honoured by moto's CloudFormation; wiring = applied by the local stack through the AWS "
            "APIs after the deploy; runtime = honoured by the local Lambda runtime."
        )
    return 0


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    as_json = bool(getattr(args, "json", False))
    console = Console(stderr=as_json)
    if args.explain:
        return explain(console, as_json)
    parameters = parse_assignments(args.param)
    previous: list[tuple[signal.Signals, Any]] = []
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C and SIGTERM both end in the context manager's clean stop (SIGINT too when the shell that
        # started us in the background set it to "ignore"); the previous handlers come back afterwards.
        for signum, handler in (
            (signal.SIGTERM, _raise_interrupt),
            (signal.SIGINT, signal.default_int_handler),
        ):
            previous.append((signum, signal.signal(signum, handler)))
    stop = stop or threading.Event()
    verbose = bool(getattr(args, "verbose", False))
    log_path = (args.workdir if args.workdir.is_absolute() else ROOT / args.workdir) / LOG_NAME
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        # The deploy's change set and output tables are for the record; the person reads the endpoint,
        # the outputs and one line per photo.
        deploy_console = Console(stderr=True) if verbose else Console(file=log, width=120)
        if not as_json:
            console.print(f"starting {args.stack_name} (deploy log: {log_path})")
        try:
            with EmbeddedStack(
                port=args.port,
                stack_name=args.stack_name,
                parameters=parameters,
                workdir=args.workdir,
                console=deploy_console,
                on_log_line=None if as_json else _show_photos(console),
            ) as stack:
                for note in stack.report.wiring.notes:
                    deploy_console.print(f"not applied: {note}")
                _announce(stack, console, as_json, log_path)
                while not stop.wait(0.5):
                    pass
        except KeyboardInterrupt:
            console.print("stopped: workers, pollers and the moto server are down")
        finally:
            for signum, handler in previous:
                signal.signal(signum, handler)
    return 0


def _show_photos(console: Console) -> Callable[[str], None]:
    def show(message: str) -> None:
        line = photo_line(message)
        if line is not None:
            console.print(line.text, style=line.style, markup=False, highlight=False, soft_wrap=True)

    return show


def _announce(stack: EmbeddedStack, console: Console, as_json: bool, log_path: Path) -> None:
    report = stack.report
    info: dict[str, Any] = {
        "endpoint_url": stack.endpoint_url,
        "region": stack.region,
        "stack_name": stack.stack_name,
        "outputs": stack.outputs,
        "interpreter": str(report.interpreter.path) if report.interpreter else None,
        "interpreter_note": report.interpreter.note if report.interpreter else "",
        "startup_seconds": round(report.timings.total_s, 2),
        "not_applied": report.wiring.notes,
        "log": str(log_path),
    }
    if as_json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        sys.stdout.flush()
        return
    console.print(
        f"[bold]{stack.stack_name}[/bold] on [bold]{stack.endpoint_url}[/bold] ({stack.region}), "
        f"ready in {report.timings.total_s:.1f} s",
        soft_wrap=True,
    )
    width = max((len(key) for key in stack.outputs), default=0)
    for key, value in sorted(stack.outputs.items()):
        console.print(f"  {key:<{width}}  {value}", markup=False, highlight=False, soft_wrap=True)
    if report.wiring.notes:
        console.print(
            f"[yellow]{len(report.wiring.notes)} policy statement(s) not applied locally[/yellow] (moto "
            f"ignores their conditions; the template tests check them): `--explain`, {log_path.name}",
            soft_wrap=True,
        )
    if report.interpreter is not None:
        console.print(
            f"function runs under {report.interpreter.path} {report.interpreter.note}", soft_wrap=True
        )
    console.print(
        f"AWS_ENDPOINT_URL={stack.endpoint_url} AWS_REGION={stack.region} "
        "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing",
        style="bold",
        markup=False,
        soft_wrap=True,
    )
    console.print("points any AWS client here. One line per photo follows; Ctrl-C stops everything.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.emulator.command")
    add_arguments(parser)
    parser.add_argument("--json", action="store_true")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
