"""Locust's processes for one run: a headless master and N workers on 127.0.0.1 (or one process), each in a
session of its own so that stopping one stops everything it started.

Where their output goes is the caller's choice: the terminal (--verbose), or the run's log file, so that
Locust's periodic tables and the botocore lines stay out of the way of the live panel.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
LOCUST = (sys.executable, "-m", "locust", "-f", "loadtests")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def master_command(
    options: Sequence[str], report_dir: Path, *, workers: int, port: int | None = None
) -> list[str]:
    reports = ["--html", str(report_dir / "locust.html"), "--csv", str(report_dir / "locust")]
    if workers == 0:
        return [*LOCUST, "--headless", *reports, *options]
    distributed = ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
    return [*LOCUST, "--headless", *distributed, "--expect-workers", str(workers), *reports, *options]


def worker_command(options: Sequence[str], port: int) -> list[str]:
    return [*LOCUST, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port), *options]


def stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM to the process's session, SIGKILL after `grace` seconds."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return  # it ended between the poll and the signal
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):  # it ended after all
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class LocustRun:
    """The master and its workers, started on enter and stopped on exit."""

    options: Sequence[str]
    report_dir: Path
    env: dict[str, str]
    workers: int
    output: IO[bytes] | None = None
    """Where the processes' stdout and stderr go (None: this process's own)."""
    master: subprocess.Popen[bytes] | None = None
    _workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def _spawn(self, command: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=self.output,
            stderr=subprocess.STDOUT if self.output is not None else None,
        )

    def __enter__(self) -> subprocess.Popen[bytes]:
        port = free_port() if self.workers else None
        self.master = self._spawn(
            master_command(self.options, self.report_dir, workers=self.workers, port=port)
        )
        if port is not None:
            self._workers = [self._spawn(worker_command(self.options, port)) for _ in range(self.workers)]
        return self.master

    def __exit__(self, *_exc: object) -> None:
        if self.master is not None:
            stop(self.master)
        for process in self._workers:
            stop(process)
