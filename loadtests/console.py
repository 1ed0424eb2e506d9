"""What a person sees during a load run: one live panel instead of Locust's periodic tables (those still go to
the run's log file and HTML report), refreshed from the progress the accounting writes.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from rich.console import Console, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from loadtests.progress import Progress, clock, read_progress

REFRESH_S = 1.0


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def panel(progress: Progress | None, *, title: str, p95_threshold_ms: float | None = None) -> RenderableType:
    """The panel for one moment of the run (pure: a renderable from the figures)."""
    if progress is None:
        return Panel("starting Locust and the watcher ...", title=title, expand=False)
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column(style="bold")
    table.add_column(justify="right")
    if progress.day_seconds is not None:
        when = f"{clock(progress.day_seconds)} of the day"
    else:
        when = f"{min(progress.t, progress.load_seconds):,.0f} of {progress.load_seconds:,.0f} s"
    phase = "draining" if progress.draining else "load"
    late = f"[red]{progress.late}[/red]" if progress.late else "0"
    p95 = _ms(progress.p95_ms)
    if p95_threshold_ms is not None and progress.p95_ms is not None and progress.p95_ms > p95_threshold_ms:
        p95 = f"[red]{p95}[/red]"
    queue = "-" if progress.queue_visible is None else f"{progress.queue_visible:,}"
    table.add_row("time", when, "phase", phase)
    table.add_row("uploads", f"{progress.uploads:,}", "backlog", f"{progress.backlog:,} (queue {queue})")
    table.add_row("processed", f"{progress.processed:,}", "p95 so far", p95)
    table.add_row("rejected", f"{progress.rejected:,}", "lost so far", late)
    if progress.deleted or progress.reuploaded:
        table.add_row("deleted", f"{progress.deleted:,}", "uploaded again", f"{progress.reuploaded:,}")
    return Panel(table, title=title, subtitle=f"{progress.t:,.0f} s", expand=False)


def follow(
    process: subprocess.Popen[bytes],
    report_dir: Path,
    console: Console,
    *,
    title: str,
    timeout: float,
    p95_threshold_ms: float | None = None,
) -> int | None:
    """Shows the panel until `process` ends; returns its exit code, None when it outlived `timeout`."""
    deadline = time.monotonic() + timeout
    with Live(panel(None, title=title), console=console, refresh_per_second=2, transient=False) as live:
        while True:
            code = process.poll()
            live.update(panel(read_progress(report_dir), title=title, p95_threshold_ms=p95_threshold_ms))
            if code is not None:
                break
            if time.monotonic() > deadline:
                return None
            time.sleep(REFRESH_S)
    if not console.is_terminal:
        console.line()  # the last frame ends without one where nothing is redrawn
    return code
