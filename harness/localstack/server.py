"""The AWS API of the local stack: a moto server on 127.0.0.1, in this process.

In-process (ThreadedMotoServer) rather than `python -m moto.server`: the local stack must switch off
moto's own SQS -> Lambda delivery (it receives the batch itself, tries Docker, and leaves receive counts
inflated), and that switch is a patch of moto's classes, which only works in the process serving the API.
"""

from __future__ import annotations

import socket
import urllib.request
from typing import Any, Final

import boto3

from harness.motocompat import patch_moto

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
    """moto on 127.0.0.1:`port` (0 = a free port), started and stopped by its owner."""

    def __init__(self, port: int = 0) -> None:
        self.requested_port = port
        self._server: Any = None
        self.port = 0

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        from moto.server import ThreadedMotoServer

        if self.requested_port:
            _check_free(self.requested_port)  # werkzeug would exit the whole process on a busy port
        patch_moto()
        disable_moto_sqs_delivery()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.requested_port, verbose=False)
        self._server.start()
        _host, self.port = self._server.get_host_and_port()
        return self.endpoint_url

    def stop(self) -> None:
        """Forget every resource (moto keeps its state in this process, past the server) and stop."""
        if self._server is None:
            return
        try:
            request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
            with urllib.request.urlopen(request, timeout=10):
                pass
        except OSError:
            pass
        self._server.stop()
        self._server = None
