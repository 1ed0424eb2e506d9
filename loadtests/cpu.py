"""CPU time of every part of a load run, from process and thread CPU clocks (not wall time), per photo.

Parts: the moto server (its own process; by AWS operation from its ledger, plus the HTTP server around it),
the local runtime's threads in this process (SQS pollers, invokers, telemetry shipping, the queue gauge),
the function's worker processes, and Locust (the master holds the watcher, the workers upload).
"""

from __future__ import annotations

import contextlib
import json
import statistics
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Final

import psutil

from fixtures.generate import fixture_bytes
from handler.config import Settings
from handler.errors import PermanentError
from handler.imaging import OutputSpec, make_renditions
from loadtests.mix import FixtureMix

SERVER: Final = "moto server"
HARNESS: Final = "run.py (other threads)"
FUNCTION: Final = "function workers"
LOCUST_MASTER: Final = "locust master (watcher)"
LOCUST_WORKERS: Final = "locust workers (uploaders)"
# Thread-name prefixes of the local runtime (harness.emulator) -> the part they belong to.
THREAD_PARTS: Final = {
    "poller-": "runtime: SQS pollers",
    "invoke-": "runtime: invokers (worker pipes, deletes)",
    "telemetry": "runtime: telemetry (CloudWatch Logs, metrics)",
    "queue-gauge": "runtime: queue gauge",
    "config-watch": "runtime: configuration watch",
}
EMULATOR_PARTS: Final = (SERVER, HARNESS, *THREAD_PARTS.values())
LEDGER_PATH: Final = "/_photopipe/cpu"


def read_ledger(endpoint: str, *, reset: bool = False) -> dict[str, dict[str, float]]:
    """The moto server's CPU by operation (harness.emulator.ledger); {} when it keeps none."""
    request = urllib.request.Request(endpoint + LEDGER_PATH, method="DELETE" if reset else "GET")
    with contextlib.suppress(OSError, ValueError), urllib.request.urlopen(request, timeout=10) as answer:
        data: dict[str, dict[str, float]] = json.loads(answer.read())
        return data
    return {}


def _cpu(process: Any) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _category(process: Any) -> str:
    try:
        line = " ".join(process.cmdline())
    except psutil.Error:  # ended or not ours to read
        return "other"
    if "harness.emulator.serve" in line:
        return SERVER
    if "locust" in line and "--worker" in line:
        return LOCUST_WORKERS
    if "locust" in line:
        return LOCUST_MASTER
    return FUNCTION


@dataclass
class CpuSampler:
    """Samples every second over this process's tree, so short-lived processes count too; in this process,
    the runtime's threads by name (a thread's CPU is read while it lives)."""

    in_process_server: bool = False
    """The moto server runs in this process (its CPU is this process's, less the runtime's threads)."""
    last: dict[int, tuple[str, float]] = field(default_factory=dict)
    child_base: dict[int, float] = field(default_factory=dict)
    threads: dict[int, tuple[str, float]] = field(default_factory=dict)
    series: list[tuple[float, dict[str, float], float]] = field(default_factory=list)
    worker_rss: dict[int, list[tuple[float, int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.started = time.time()
        self.me = psutil.Process()
        self.base = _cpu(self.me)
        self.thread_base = self._thread_times()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        self._sample()  # every process alive now, at its CPU time now

    def _thread_times(self) -> dict[int, tuple[str, float]]:
        names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
        found: dict[int, tuple[str, float]] = {}
        with contextlib.suppress(psutil.Error):  # this process's threads: only while it is being torn down
            for item in self.me.threads():
                name = names.get(item.id, "")
                part = next((p for prefix, p in THREAD_PARTS.items() if name.startswith(prefix)), None)
                if part is not None:
                    found[item.id] = (part, float(item.user_time + item.system_time))
        return found

    def _sample(self) -> None:
        for child in self.me.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a process that ended since it was listed
                key = child.pid
                if key not in self.last:  # a process older than the sampler counts from now on
                    older = child.create_time() < self.started
                    self.child_base[key] = _cpu(child) if older else 0.0
                    self.last[key] = (_category(child), self.child_base[key])
                category = self.last[key][0]
                self.last[key] = (category, _cpu(child))
                if category == FUNCTION:
                    self.worker_rss.setdefault(key, []).append((time.time(), child.memory_info().rss))
        self.threads.update(self._thread_times())
        machine = psutil.cpu_times()
        busy = float(machine.user + machine.system + machine.nice + getattr(machine, "irq", 0.0))
        self.series.append((time.time(), self.totals(), busy))

    def totals(self) -> dict[str, float]:
        """CPU seconds by part since the sampler was made."""
        totals: dict[str, float] = {}
        for pid, (category, seconds) in self.last.items():
            totals[category] = totals.get(category, 0.0) + seconds - self.child_base.get(pid, 0.0)
        in_threads = 0.0
        for tid, (part, seconds) in self.threads.items():
            used = seconds - self.thread_base.get(tid, (part, 0.0))[1]
            totals[part] = totals.get(part, 0.0) + used
            in_threads += used
        rest = _cpu(self.me) - self.base - in_threads
        if self.in_process_server:
            totals[SERVER] = totals.get(SERVER, 0.0) + rest
        else:
            totals[HARNESS] = rest
        return totals

    def busiest_minute(self) -> dict[str, float]:
        """Cores used by each part over the 60 s in which the run used the most CPU, and by everything on
        the machine (other users included) over the same 60 s."""
        best: dict[str, float] = {}
        best_total = -1.0
        j = 0
        for i, (t, totals, busy) in enumerate(self.series):
            while self.series[j][0] < t - 60:
                j += 1
            t0, first, busy0 = self.series[j]
            span = t - t0
            if span < 30 or i == j:
                continue
            used = {k: (v - first.get(k, 0.0)) / span for k, v in totals.items()}
            total = sum(used.values())
            if total > best_total:
                best_total = total
                best = {**used, "whole machine (all users)": (busy - busy0) / span}
        return {k: round(v, 2) for k, v in sorted(best.items())}

    def _run(self) -> None:
        while not self.stop_event.wait(1.0):
            self._sample()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> dict[str, float]:
        self._sample()
        self.stop_event.set()
        self.thread.join(timeout=5)
        return {k: round(v, 2) for k, v in sorted(self.totals().items())}


def per_photo_rows(
    cpu: dict[str, float], ledger: dict[str, dict[str, float]], photos: int, imaging_ms: float
) -> list[tuple[str, float, str]]:
    """(part, ms CPU per photo, note) rows: the server by operation (largest first) and HTTP handling, then
    every other part; the emulator's total against the imaging's."""
    if photos <= 0:
        return []
    rows: list[tuple[str, float, str]] = []
    server = cpu.get(SERVER, 0.0)
    in_ledger = sum(item["cpu_s"] for item in ledger.values())
    if ledger:
        for name, item in sorted(ledger.items(), key=lambda kv: -kv[1]["cpu_s"]):
            calls = item["calls"] / photos
            rows.append((f"{SERVER}: {name}", item["cpu_s"] * 1000 / photos, f"{calls:.2f} calls/photo"))
        rows.append(
            (f"{SERVER}: HTTP server, outside the operations", (server - in_ledger) * 1000 / photos, "")
        )
    elif server:
        rows.append((SERVER, server * 1000 / photos, ""))
    for part in EMULATOR_PARTS[1:]:
        if cpu.get(part):
            rows.append((part, cpu[part] * 1000 / photos, ""))
    emulator = sum(cpu.get(part, 0.0) for part in EMULATOR_PARTS) * 1000 / photos
    ratio = f"{emulator / imaging_ms:.2f}x the imaging" if imaging_ms > 0 else ""
    rows.append(("emulator in all", emulator, ratio))
    for part in (FUNCTION, LOCUST_MASTER, LOCUST_WORKERS):
        if cpu.get(part):
            rows.append((part, cpu[part] * 1000 / photos, ""))
    rows.append(("imaging alone (the mix, measured before the run)", imaging_ms, ""))
    return rows


def emulator_ms_per_photo(cpu: dict[str, float], photos: int) -> float | None:
    if photos <= 0:
        return None
    return sum(cpu.get(part, 0.0) for part in EMULATOR_PARTS) * 1000 / photos


def imaging_ms_per_photo(mix: FixtureMix, settings: Settings, runs: int = 3) -> float:
    """The mix's CPU time per photo through the handler's imaging on this machine, with the stack's own
    renditions and formats (median of `runs` each). A bad file costs what its rejection costs."""
    outputs = [OutputSpec(fmt, settings.output_quality) for fmt in settings.output_formats]
    total = 0.0
    for name, share in mix.shares.items():
        data = fixture_bytes(name)
        times = []
        for _ in range(runs):
            started = time.process_time()
            with contextlib.suppress(PermanentError):  # a bad file: its rejection is the work it costs
                make_renditions(data, settings.renditions, outputs, max_pixels=settings.max_pixels)
            times.append(time.process_time() - started)
        total += share * statistics.median(times) * 1000
    return total
