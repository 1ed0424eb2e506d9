"""Faults injected on the handler's clients through botocore's `before-call` hook.

A `before-call` handler that answers ends the call there: the request never reaches moto, exactly as when S3
throttles or times out, so a faulted PutObject writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

_HTTP = {
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "SlowDown": 503,
    "Throttled": 429,
    "AccessDenied": 403,
    "PreconditionFailed": 412,
    "InvalidArgument": 400,
}
_NETWORK: dict[str, Callable[[], Exception]] = {
    "ReadTimeout": lambda: ReadTimeoutError(endpoint_url="https://s3.amazonaws.com"),
    "ConnectTimeout": lambda: ConnectTimeoutError(endpoint_url="https://s3.amazonaws.com"),
    "ConnectionError": lambda: EndpointConnectionError(endpoint_url="https://s3.amazonaws.com"),
}
# What a dependency does when it is having a bad moment (as opposed to answering "no").
KINDS = ("InternalError", "ServiceUnavailable", "SlowDown", "Throttled", *_NETWORK)
# Answers that are not about the photo: a denied permission, and a 4xx no rule foresaw.
NOT_THE_PHOTOS_FAULT = ("AccessDenied", "InvalidArgument")


class Fault:
    """Fail `operation` calls (optionally only those on `key`) with `kind`; counts what it struck."""

    def __init__(
        self, operation: str, kind: str, *, key: str | None = None, times: int | None = None
    ) -> None:
        self.operation, self.kind, self.key, self.times = operation, kind, key, times
        self.struck = 0
        self.calls = 0

    def __call__(self, client: Any) -> None:
        service = client.meta.service_model.service_name
        client.meta.events.register_first(f"before-call.{service}.{self.operation}", self._hook)

    def _hook(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        self.calls += 1
        # `params` here is the serialised request: the object key is the end of its URL path.
        if self.key is not None and not unquote(params.get("url_path", "")).endswith("/" + self.key):
            return None
        if self.times is not None and self.struck >= self.times:
            return None
        self.struck += 1
        if self.kind in _NETWORK:
            raise _NETWORK[self.kind]()
        status = _HTTP[self.kind]
        parsed = {
            "Error": {"Code": self.kind, "Message": "injected"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return AWSResponse("https://injected", status, {}, None), parsed


class Counter:
    """Counts calls of one operation without changing them."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self.calls = 0

    def __call__(self, client: Any) -> None:
        service = client.meta.service_model.service_name
        client.meta.events.register(f"before-call.{service}.{self.operation}", self._hook)

    def _hook(self, **_: Any) -> None:
        self.calls += 1
