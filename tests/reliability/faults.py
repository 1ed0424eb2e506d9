"""Fault injection on the handler's own boto3 clients, through botocore's event hooks.

Two places to strike, because they fail differently:
- `before-call.<service>.<Operation>`: answer with an HTTP error (500 InternalError, S3 503 SlowDown, SNS 429
  Throttled) before anything is sent; the service never saw the request.
- `before-send.<service>.<Operation>`, registered first: raise what the network raises (read timeout,
  connection reset); the request never reached moto. A response returned here instead would not stop moto's
  own before-send stubber from running, which gives the nastiest case on purpose: "lost answer", where S3
  did the write and the client still sees a 500.
A `Fault` decides per call whether to strike, so a test can fail one call out of several, or every call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError


class _RawBody:
    """The minimum of urllib3's response that botocore reads an injected error body through."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *_: Any, **__: Any) -> Any:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._body


@dataclass(frozen=True, slots=True)
class ServiceError:
    status: int
    code: str
    message: str

    def parsed(self, url: str) -> tuple[AWSResponse, dict[str, Any]]:
        """What a parsed error response looks like to botocore's client (status, code, message)."""
        http = AWSResponse(url, self.status, {"x-amz-request-id": "FAULT"}, _RawBody(b""))
        return http, {
            "Error": {"Code": self.code, "Message": self.message},
            "ResponseMetadata": {"HTTPStatusCode": self.status, "RequestId": "FAULT", "HTTPHeaders": {}},
        }


def _read_timeout(url: str) -> None:
    raise ReadTimeoutError(endpoint_url=url)


def _connection_reset(url: str) -> None:
    raise ConnectionClosedError(endpoint_url=url)


def _lost_answer(url: str) -> AWSResponse:
    body = b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"
    return AWSResponse(url, 500, {"Content-Type": "application/xml"}, _RawBody(body))


S3_ERRORS = {
    "500 InternalError": ServiceError(
        500, "InternalError", "We encountered an internal error. Please try again."
    ),
    "throttling": ServiceError(503, "SlowDown", "Please reduce your request rate."),
}
SNS_ERRORS = {
    "500 InternalError": ServiceError(500, "InternalError", "An internal error occurred."),
    "throttling": ServiceError(429, "Throttled", "Rate exceeded"),  # SNS's ThrottledException
}
NETWORK: dict[str, Callable[[str], Any]] = {
    "read timeout": _read_timeout,
    "connection reset": _connection_reset,
}
KINDS = (*S3_ERRORS, *NETWORK)
LOST_ANSWER = "lost answer (500 after the write)"


@dataclass
class Fault:
    """Strike `operation` calls on one client: the calls numbered in `strikes` (1-based), or all if None."""

    service: str
    operation: str
    kind: str
    strikes: set[int] | None = None
    calls: int = 0
    struck: int = 0

    def attach(self, client: BaseClient) -> None:
        if self.kind in NETWORK or self.kind == LOST_ANSWER:
            client.meta.events.register_first(f"before-send.{self.service}.{self.operation}", self._on_send)
        else:
            client.meta.events.register_first(f"before-call.{self.service}.{self.operation}", self._on_call)

    def _strike(self) -> bool:
        self.calls += 1
        if self.strikes is not None and self.calls not in self.strikes:
            return False
        self.struck += 1
        return True

    def _on_call(self, model: Any, params: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not self._strike():
            return None
        errors = S3_ERRORS if self.service == "s3" else SNS_ERRORS
        return errors[self.kind].parsed(str(params.get("url", "")) if isinstance(params, dict) else "")

    def _on_send(self, request: Any, **_: Any) -> AWSResponse | None:
        if not self._strike():
            return None
        if self.kind == LOST_ANSWER:
            return _lost_answer(request.url)
        NETWORK[self.kind](request.url)
        return None
