"""Where the moto server's CPU goes: CPU seconds and calls per AWS operation, kept inside the server.

Each request is timed on its own CPU clock (its thread's, or its greenlet's under gevent), so time spent
waiting (for the GIL, a long poll, the socket) costs nothing and the figures add up to the CPU the requests
really used. A few moto internals the pipeline leans on are timed as parts of their own (S3's event
notification to SQS, the body's MD5 and checksums, storing the body): a part's figure is its own time,
without the parts nested in it, so `PutObject` is what is left of a PUT after those.

What is outside the WSGI application (werkzeug reading the request line and headers, writing the response)
is not here: it is the server process's CPU minus the ledger's total.

Served at GET /_photopipe/cpu (no bucket name starts with `_`) and reset by DELETE on the same path.
"""

from __future__ import annotations

import functools
import io
import json
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Final
from urllib.parse import parse_qs

LEDGER_PATH: Final = "/_photopipe/cpu"
S3_NOTIFICATION: Final = "S3 event notification (to SQS)"
S3_ETAG: Final = "S3 body MD5 (ETag)"
S3_CHECKSUM: Final = "S3 body checksum"
S3_STORE: Final = "S3 body stored"
_PATCHED: Final = "_photopipe_ledger"
_S3_SUBRESOURCES: Final = ("tagging", "versions", "uploads", "uploadId", "notification", "policy", "acl")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class GreenletClock:
    """CPU seconds of the running greenlet: the thread's CPU clock, charged at every switch to the greenlet
    that ran since the last one. Under gevent every request shares one thread, so the thread's clock alone
    would charge a long poll with the work of every request served while it waited."""

    def __init__(self) -> None:
        import greenlet  # type: ignore[import-untyped]

        self._current = greenlet.getcurrent
        self._spent: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._last = time.thread_time()
        greenlet.settrace(self._trace)

    def _trace(self, event: str, args: Any) -> None:
        if event in ("switch", "throw"):
            origin = args[0]
            now = time.thread_time()
            self._spent[origin] = self._spent.get(origin, 0.0) + now - self._last
            self._last = now

    def __call__(self) -> float:
        return self._spent.get(self._current(), 0.0) + time.thread_time() - self._last


class CpuLedger:
    """Totals: label -> [calls, own CPU seconds]; `clock` is the CPU clock of whatever serves a request (a
    thread's, or GreenletClock under gevent)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self.clock: Callable[[], float] = time.thread_time
        self.totals: dict[str, list[float]] = {}

    @contextmanager
    def part(self, label: str) -> Iterator[None]:
        stack: list[list[float]] = self._local.__dict__.setdefault("stack", [])
        frame = [self.clock(), 0.0]
        stack.append(frame)
        try:
            yield
        finally:
            stack.pop()
            elapsed = self.clock() - frame[0]
            if stack:
                stack[-1][1] += elapsed
            with self._lock:
                entry = self.totals.setdefault(label, [0, 0.0])
                entry[0] += 1
                entry[1] += elapsed - frame[1]

    def snapshot(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {k: {"calls": int(v[0]), "cpu_s": round(v[1], 6)} for k, v in sorted(self.totals.items())}

    def reset(self) -> None:
        with self._lock:
            self.totals.clear()


LEDGER: Final = CpuLedger()


def _service(environ: dict[str, Any]) -> str:
    """The signing name from SigV4's credential scope (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`)."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    try:
        return auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")[3]
    except IndexError:
        return "unsigned"


def _s3_operation(method: str, path: str, query: dict[str, list[str]], environ: dict[str, Any]) -> str:
    has_key = "/" in path.strip("/")
    sub = next((name for name in _S3_SUBRESOURCES if name in query), "")
    if has_key:
        if method == "PUT" and environ.get("HTTP_X_AMZ_COPY_SOURCE"):
            name = "CopyObject"
        else:
            name = {
                "PUT": "PutObject",
                "GET": "GetObject",
                "HEAD": "HeadObject",
                "DELETE": "DeleteObject",
            }.get(method, method + "Object")
    elif method == "GET" and "list-type" in query:
        name = "ListObjectsV2"
    elif method == "POST" and "delete" in query:
        name = "DeleteObjects"
    else:
        name = f"{method} bucket"
    return f"{name}?{sub}" if sub else name


def operation_of(environ: dict[str, Any]) -> str:
    """`service Operation` of one request, from what each protocol puts where (header, path, query, form)."""
    service = _service(environ)
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return f"{service} {str(target).rsplit('.', 1)[-1]}"
    path = str(environ.get("PATH_INFO", ""))
    if "/operation/" in path:  # smithy-rpc-v2-cbor (CloudWatch)
        return f"{service} {path.rsplit('/', 1)[-1]}"
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    if "Action" in query:
        return f"{service} {query['Action'][0]}"
    if service == "s3":
        return "s3 " + _s3_operation(str(environ.get("REQUEST_METHOD", "")), path, query, environ)
    if str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # put back for moto
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return f"{service} {action[0]}"
    return (
        f"{service} {environ.get('REQUEST_METHOD', '')} {path.split('/')[1] if '/' in path else ''}".rstrip()
    )


def _timed(label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with LEDGER.part(label):
            return fn(*args, **kwargs)

    return wrapper


def _answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    if environ.get("REQUEST_METHOD") == "DELETE":
        LEDGER.reset()
    body = json.dumps(LEDGER.snapshot()).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def install() -> None:
    """Idempotent: time every request by operation, and moto's S3 internals named above, in this process."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.s3 import models as s3_models
    from moto.s3 import notifications
    from moto.s3 import responses as s3_responses

    dispatcher: Any = DomainDispatcherApplication
    if getattr(dispatcher, _PATCHED, False):
        return
    from gevent import monkey

    if monkey.is_module_patched("threading"):
        LEDGER.clock = GreenletClock()
        LEDGER._local = threading.local()  # gevent's: one nesting stack per greenlet
    original = dispatcher.__call__

    def timed_call(self: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == LEDGER_PATH:
            return _answer(environ, start_response)
        with LEDGER.part(operation_of(environ)):
            return original(self, environ, start_response)  # type: ignore[no-any-return]

    dispatcher.__call__ = timed_call
    notifications.send_event = _timed(S3_NOTIFICATION, notifications.send_event)
    modules: tuple[Any, ...] = (s3_models, s3_responses)
    for module in modules:
        if hasattr(module, "compute_checksum"):
            module.compute_checksum = _timed(S3_CHECKSUM, module.compute_checksum)
    key_class: Any = s3_models.FakeKey
    key_class.etag = property(_timed(S3_ETAG, key_class.etag.fget))
    value = key_class.value
    key_class.value = property(value.fget, _timed(S3_STORE, value.fset))
    setattr(dispatcher, _PATCHED, True)
