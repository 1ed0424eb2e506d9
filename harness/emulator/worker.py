"""One worker process: a warm Lambda container running the function's code from the unzipped package."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import select
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from harness.emulator.telemetry import LogLine

BOOTSTRAP: Final = Path(__file__).with_name("bootstrap.py")
END_MARK: Final = "\x1e"
INIT_TIMEOUT_S: Final = 10.0  # Lambda's init phase limit
LOG_DRAIN_S: Final = 5.0
# On AWS the function never shares a CPU with S3 and SQS; here it does. Its workers run at a lower priority
# than the moto server and the load's uploaders, so a saturated machine queues photos (in SQS, as a slow
# function would) instead of slowing every S3 request. CPU time per photo is unchanged.
WORKER_NICENESS: Final = 10


@dataclass
class Invocation:
    request_id: str
    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None
    timed_out: bool = False
    duration_ms: float = 0.0
    init_ms: float | None = None
    lines: list[LogLine] = field(default_factory=list)


def _now_ms() -> int:
    return int(time.time() * 1000)


def log_stream_name() -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{secrets.token_hex(16)}"


class Worker:
    def __init__(self, python: Path, environment: Mapping[str, str], generation: int) -> None:
        self.python = python
        self.environment = dict(environment)
        self.generation = generation
        self.log_stream = log_stream_name()
        self.process: subprocess.Popen[str] | None = None
        self.invocations = 0
        self.started_at = time.time()
        self._answers_fd = -1
        self._buffer = b""
        self._lines: queue.Queue[tuple[int, str] | None] = queue.Queue()
        self._reader: threading.Thread | None = None
        self._pending_init_ms: float | None = None
        self.init_error: dict[str, Any] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the process and wait for its init phase (the import of the handler module)."""
        read_fd, write_fd = os.pipe()
        env = {
            **self.environment,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "_PHOTOPIPE_RESPONSE_FD": str(write_fd),
        }
        self.process = subprocess.Popen(
            [str(self.python), "-I", "-S", "-u", str(BOOTSTRAP)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
            pass_fds=(write_fd,),
            start_new_session=True,  # Ctrl-C in the terminal reaches the harness, which stops workers itself
        )
        os.close(write_fd)
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, self.process.pid, WORKER_NICENESS)
        self._answers_fd = read_fd
        self._reader = threading.Thread(target=self._read_stdout, args=(self.process.stdout,), daemon=True)
        self._reader.start()
        started = time.monotonic()
        answer = self._read_answer(time.monotonic() + INIT_TIMEOUT_S)
        if answer is None or "init_error" in answer:
            self.init_error = (answer or {}).get("init_error") or {
                "errorType": "Runtime.InitTimeout" if self.alive else "Runtime.ExitError",
                "errorMessage": "the function's init phase did not finish",
            }
            self.stop()
            return
        self._pending_init_ms = float(answer.get("init_ms", (time.monotonic() - started) * 1000))

    def _read_stdout(self, stream: IO[str] | None) -> None:
        if stream is None:
            return
        for line in stream:
            self._lines.put((_now_ms(), line.rstrip("\n")))
        self._lines.put(None)

    def _read_answer(self, deadline: float) -> dict[str, Any] | None:
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._answers_fd < 0:
                return None
            ready, _, _ = select.select([self._answers_fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self._answers_fd, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _drain_lines(self, request_id: str, wait: bool) -> list[LogLine]:
        lines: list[LogLine] = []
        deadline = time.monotonic() + (LOG_DRAIN_S if wait else 0.2)
        while True:
            try:
                item = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return lines
            if item is None:
                return lines
            stamp, text = item
            if text == END_MARK + request_id:
                return lines
            lines.append(LogLine(stamp, text))

    def invoke(self, event: Any, *, timeout_s: float, function_arn: str) -> Invocation:
        request_id = str(uuid.uuid4())
        if self.process is None or self.process.stdin is None or not self.alive:
            return Invocation(request_id, ok=False, error={"errorType": "Runtime.ExitError"})
        deadline_wall = time.time() + timeout_s
        started = time.monotonic()
        self.invocations += 1
        self.process.stdin.write(
            json.dumps({"id": request_id, "event": event, "deadline_ms": int(deadline_wall * 1000)}) + "\n"
        )
        self.process.stdin.flush()
        answer = self._read_answer(started + timeout_s)
        duration_ms = (time.monotonic() - started) * 1000
        init_ms, self._pending_init_ms = self._pending_init_ms, None
        if answer is None:
            timed_out = self.alive
            self.stop()
            lines = self._drain_lines(request_id, wait=False)
            message = (
                f"Task timed out after {timeout_s:.2f} seconds"
                if timed_out
                else "Runtime exited without providing a reason"
            )
            lines.append(LogLine(_now_ms(), f"{datetime.now(UTC).isoformat()} {request_id} {message}"))
            error = {
                "errorType": "Sandbox.Timedout" if timed_out else "Runtime.ExitError",
                "errorMessage": message,
            }
            return Invocation(request_id, False, None, error, timed_out, duration_ms, init_ms, lines)
        lines = self._drain_lines(request_id, wait=True)
        return Invocation(
            request_id,
            bool(answer.get("ok")),
            answer.get("result"),
            answer.get("error"),
            False,
            duration_ms,
            init_ms,
            lines,
        )

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(timeout=2)
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()
        if self._answers_fd >= 0:
            os.close(self._answers_fd)
            self._answers_fd = -1
