"""The AWS API of the local stack: a moto server on 127.0.0.1, in a process of its own
(harness.emulator.serve), and the boto3 session that reaches it."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any, Final

import boto3

DEFAULT_REGION: Final = "us-west-2"
ACCESS_KEY: Final = "testing"
SECRET_KEY: Final = "testing"
ACCOUNT_ID: Final = "123456789012"
_PATCHED: Final = "_photopipe_no_moto_esm"


def disable_moto_sqs_delivery() -> None:
    """Idempotent: moto's SQS hands each sent message to the queue's event source mappings itself (via
    Docker); the local runtime is the only consumer, so every queue reports no mappings to moto."""
    from moto.sqs import models

    queue_class: Any = models.Queue
    if getattr(queue_class, _PATCHED, False):
        return

    def _get(self: Any) -> dict[str, Any]:
        return {}

    def _set(self: Any, value: Any) -> None:
        return None

    queue_class.lambda_event_source_mappings = property(_get, _set)
    setattr(queue_class, _PATCHED, True)


def _check_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise RuntimeError(
                f"port {port} on 127.0.0.1 is in use ({exc.strerror}): stop what holds it, or pass --port 0 "
                "for any free port"
            ) from None


class LocalSession(boto3.Session):
    """A boto3 session whose clients all talk to the local endpoint, without touching os.environ (so the
    deploy code, which calls session.client(...), reaches moto exactly as it reaches AWS)."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        super().__init__(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=region)
        self.endpoint_url = endpoint_url

    def client(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().client(*args, **kwargs)

    def resource(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().resource(*args, **kwargs)


class MotoServer:
    """moto on 127.0.0.1:`port` (0 = a free port) in a child process, started and stopped by its owner.

    Stopping the process forgets every resource. The server's stderr goes to `log_path` (or nowhere)."""

    START_TIMEOUT_S: Final = 60.0

    def __init__(self, port: int = 0, log_path: Path | None = None) -> None:
        self.requested_port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.in_process = False

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def start(self) -> str:
        if self.requested_port:
            _check_free(self.requested_port)  # refused here, with a way out, rather than by the child
        log: IO[bytes] | int = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "harness.emulator.serve", "--port", str(self.requested_port)],
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,  # Ctrl-C reaches the harness, which stops the server itself
            )
        finally:
            if not isinstance(log, int):
                log.close()
        self.port = self._read_port(self.process)
        return self.endpoint_url

    def _read_port(self, process: subprocess.Popen[bytes]) -> int:
        assert process.stdout is not None
        deadline = time.monotonic() + self.START_TIMEOUT_S
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            ready = select.select([process.stdout], [], [], max(0.0, remaining))[0] if remaining > 0 else []
            chunk = process.stdout.read1(256) if ready else b""  # type: ignore[attr-defined]
            if not chunk:
                self.stop()
                where = f"; see {self.log_path}" if self.log_path else ""
                limit = self.START_TIMEOUT_S
                raise RuntimeError(f"the moto server did not start within {limit:.0f} s{where}")
            line += chunk
        return int(json.loads(line)["port"])

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            with contextlib.suppress(OSError):
                process.stdout.close()
