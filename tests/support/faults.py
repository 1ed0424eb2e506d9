"""Faults injected on the handler's own boto3 clients through botocore's event hooks.

Two places to strike, because they fail differently:
- `before-call.<service>.<Operation>`: answer with an AWS error (500 InternalError, S3's 503 SlowDown, SNS's
  429 Throttled, 403 AccessDenied, ...) before anything is sent; the service never saw the request, so a
  faulted PutObject writes nothing.
- `before-send.<service>.<Operation>`, registered first: raise what the network raises (read timeout,
  connection reset); the request never reaches moto. A response returned here instead does not stop moto's
  own before-send stubber from running, which gives the nastiest case on purpose: the lost answer, where S3
  did the write and the client still sees a 500.
A `Fault` decides per call whether to strike, so a test can fail one call out of several, or every call.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)


@dataclass(frozen=True, slots=True)
class ServiceError:
    status: int
    message: str


# AWS's answers, by error code: what a dependency says when it is having a bad moment, or says "no".
SERVICE_ERRORS: dict[str, ServiceError] = {
    "InternalError": ServiceError(500, "We encountered an internal error. Please try again."),
    "ServiceUnavailable": ServiceError(503, "Service is unable to handle request."),
    "SlowDown": ServiceError(503, "Please reduce your request rate."),
    "Throttled": ServiceError(429, "Rate exceeded"),  # SNS's ThrottledException
    "AccessDenied": ServiceError(403, "Access Denied"),
    "PreconditionFailed": ServiceError(412, "At least one of the pre-conditions you specified did not hold"),
    "InvalidArgument": ServiceError(400, "Invalid Argument"),
}
# The service's own throttling answer, whichever service the fault is attached to.
THROTTLING = "Throttling"
THROTTLING_CODES: dict[str, str] = {"s3": "SlowDown", "sns": "Throttled"}
NETWORK: dict[str, Callable[[str], Exception]] = {
    "ReadTimeout": lambda url: ReadTimeoutError(endpoint_url=url),
    "ConnectTimeout": lambda url: ConnectTimeoutError(endpoint_url=url),
    "ConnectionError": lambda url: EndpointConnectionError(endpoint_url=url),
    "ConnectionReset": lambda url: ConnectionClosedError(endpoint_url=url),
}
LOST_ANSWER = "LostAnswer"  # S3 did the write; the client sees a 500

# What a dependency does when it is having a bad moment (as opposed to answering "no").
KINDS = ("InternalError", "ServiceUnavailable", "SlowDown", "Throttled", *NETWORK)
# One of each way a dependency fails: a 5xx, the service's throttling, a timeout, a reset.
ONE_OF_EACH = ("InternalError", THROTTLING, "ReadTimeout", "ConnectionReset")
# Answers that are not about the photo: a denied permission, and a 4xx no rule foresaw.
NOT_THE_PHOTOS_FAULT = ("AccessDenied", "InvalidArgument")


class _RawBody:
    """The minimum of urllib3's response that botocore reads an injected error body through."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *_: Any, **__: Any) -> Any:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._body


def _error_answer(url: str, code: str) -> tuple[AWSResponse, dict[str, Any]]:
    """What a parsed error response looks like to botocore's client (status, code, message)."""
    error = SERVICE_ERRORS[code]
    http = AWSResponse(url, error.status, {"x-amz-request-id": "FAULT"}, _RawBody(b""))
    return http, {
        "Error": {"Code": code, "Message": error.message},
        "ResponseMetadata": {"HTTPStatusCode": error.status, "RequestId": "FAULT", "HTTPHeaders": {}},
    }


def _lost_answer(url: str) -> AWSResponse:
    body = b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"
    return AWSResponse(url, 500, {"Content-Type": "application/xml"}, _RawBody(body))


class Fault:
    """Fail `operation` calls with `kind`: only those on object `key` if given, and only the matching calls
    numbered in `strikes` (1-based) if given, else every one. Attach by calling it with a client; a fault
    attached to a client of another service never fires. Counts the matching calls and what it struck."""

    def __init__(
        self, operation: str, kind: str, *, key: str | None = None, strikes: Collection[int] | None = None
    ) -> None:
        if kind not in (*SERVICE_ERRORS, THROTTLING, *NETWORK, LOST_ANSWER):
            raise ValueError(
                f"fault kind {kind!r} is unknown; allowed: {', '.join(SERVICE_ERRORS)}, {THROTTLING}, "
                f"{', '.join(NETWORK)}, {LOST_ANSWER}"
            )
        self.operation, self.kind, self.key, self.strikes = operation, kind, key, strikes
        self.calls = 0
        self.struck = 0

    def __call__(self, client: BaseClient) -> None:
        service = client.meta.service_model.service_name
        if self.kind in NETWORK or self.kind == LOST_ANSWER:
            client.meta.events.register_first(f"before-send.{service}.{self.operation}", self._on_send)
            return
        code = THROTTLING_CODES.get(service, "Throttled") if self.kind == THROTTLING else self.kind

        def on_call(params: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
            # `params` here is the serialised request: the object key is the end of its URL path.
            if not self._strike(unquote(params.get("url_path", "")) if isinstance(params, dict) else ""):
                return None
            return _error_answer(str(params.get("url", "")), code)

        client.meta.events.register_first(f"before-call.{service}.{self.operation}", on_call)

    def _on_send(self, request: Any, **_: Any) -> AWSResponse | None:
        if not self._strike(unquote(urlsplit(request.url).path)):
            return None
        if self.kind == LOST_ANSWER:
            return _lost_answer(request.url)
        raise NETWORK[self.kind](request.url)

    def _strike(self, path: str) -> bool:
        if self.key is not None and not path.endswith("/" + self.key):
            return False
        self.calls += 1
        if self.strikes is not None and self.calls not in self.strikes:
            return False
        self.struck += 1
        return True


class Counter:
    """Counts calls of one operation without changing them."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self.calls = 0

    def __call__(self, client: BaseClient) -> None:
        service = client.meta.service_model.service_name
        client.meta.events.register(f"before-call.{service}.{self.operation}", self._hook)

    def _hook(self, **_: Any) -> None:
        self.calls += 1
