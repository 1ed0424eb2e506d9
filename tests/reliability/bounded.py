"""Run a callable in a forked child and measure what it cost: CPU seconds and resident-memory growth.

Why a fork: the peak RSS of a long-lived pytest process only ever grows, so a per-case memory figure needs a
process of its own; forking (instead of spawning) shares the already-imported Pillow, boto3 and moto, so a
case costs milliseconds of setup. The kernel enforces a hard CPU ceiling (RLIMIT_CPU) so a case that would
hang is killed and reported instead of stalling the suite. Nothing here reads the wall clock.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import resource
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HARD_CPU_CEILING_SECONDS = 60
# Not a timing assertion: a child that deadlocks (a lock held by another thread at fork time) uses no CPU, so
# only an alarm can end it; the figure is far above any case's cost on the slowest machine.
HANG_GUARD_SECONDS = 120


@dataclass(frozen=True, slots=True)
class Measured:
    value: Any
    cpu_seconds: float
    rss_growth_mib: float
    error: str | None = None


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak_rss() -> None:
    """Linux resets VmHWM to the current RSS on writing 5 to clear_refs; without it the baseline stands."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Meter:
    """Context manager marking the part of the child's work whose cost is measured (the rest is setup)."""

    def __init__(self) -> None:
        self.cpu_seconds: float | None = None
        self.rss_growth_mib: float | None = None
        self._cpu_start = 0.0
        self._baseline_kib = 0

    def __enter__(self) -> Meter:
        _reset_peak_rss()
        self._baseline_kib = max(_status_kib("VmHWM"), _status_kib("VmRSS"))
        self._cpu_start = _cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu_seconds = _cpu() - self._cpu_start
        self.rss_growth_mib = (_status_kib("VmHWM") - self._baseline_kib) / 1024


def _after_fork_in_child() -> None:
    """Forget thread pools the parent created: their threads do not exist in the child, so work submitted
    to them would wait forever. The handler keeps a lazily built pool for parallel S3 calls (a Lambda
    container never forks, so it has no reason to reset it); the child builds a new one on first use."""
    storage = sys.modules.get("handler.storage")
    pools = getattr(storage, "_POOL", None)
    if isinstance(pools, list):
        pools.clear()


def run_bounded(function: Callable[[Meter], Any]) -> Measured:
    """Run `function(meter)` in a child; its return value must pickle. Exceptions come back as `error` text.

    The figures cover the `with meter:` block if the function used it, otherwise the whole call.
    """
    read_end, write_end = os.pipe()
    # Frozen objects are left alone by the child's garbage collector: without this a collection in the child
    # writes to every object header of the (large) pytest heap, copying each page on write.
    gc.freeze()
    pid = os.fork()
    if pid != 0:
        gc.unfreeze()
    if pid == 0:  # child
        status = 0
        try:
            os.close(read_end)
            _after_fork_in_child()
            resource.setrlimit(resource.RLIMIT_CPU, (HARD_CPU_CEILING_SECONDS, HARD_CPU_CEILING_SECONDS + 5))
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(HANG_GUARD_SECONDS)
            whole, inner = Meter(), Meter()
            error = None
            value = None
            with whole:
                try:
                    value = function(inner)
                except BaseException:
                    error = traceback.format_exc()
            used = inner if inner.cpu_seconds is not None else whole
            payload = pickle.dumps(
                Measured(value, used.cpu_seconds or 0.0, used.rss_growth_mib or 0.0, error)
            )
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as incoming:
        payload = incoming.read()
    _, wait_status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(wait_status):
        name = signal.Signals(os.WTERMSIG(wait_status)).name
        raise AssertionError(
            f"the case was killed by {name} (CPU ceiling {HARD_CPU_CEILING_SECONDS} s, hang guard "
            f"{HANG_GUARD_SECONDS} s)"
        )
    if not payload:
        raise AssertionError(
            f"the measuring child exited with status {os.WEXITSTATUS(wait_status)} and no result"
        )
    measured: Measured = pickle.loads(payload)
    return measured
