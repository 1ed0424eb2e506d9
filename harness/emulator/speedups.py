"""Four of moto's (5.2) per-request costs, computed the same way for less: the answers do not change.

Found with the server's CPU ledger (harness.emulator.ledger) under load:
- Every request's dispatch asks `moto.backends.list_of_moto_modules()`, which lists moto's package directory
  and stats every entry (about 170 `isdir` calls per request). The directory does not change while the server
  runs, so the list is read once.
- `ReceiveMessage` checks each message it hands out against the queue's retention period by calling
  `get_queue_attributes(["MessageRetentionPeriod"])`, which builds every attribute of the queue three times,
  including the approximate counts, each a scan of all its messages: a receive from a queue holding n messages
  cost O(n^2). The period is read from the queue itself, where `get_queue_attributes` reads it.
- `GetQueueAttributes` for k names builds the queue's attributes 1 + 2k times (three scans of its messages
  each): a depth reading of a backlogged queue cost tens of milliseconds. One call now builds them once and
  answers from that one snapshot.
- `ListObjectVersions` deep-copies every version of every key in the bucket on every page (to mark the
  copies' `is_latest`), and a key's deep copy reads its whole body into a new buffer: one page of a bucket
  holding a day of uploads copied gigabytes, and paging through it ran the server out of memory. The copies
  are now shallow (the same attributes, an empty body of their own), which is all the listing needs.

Visibility, receive counts, redrive, retention and notifications are moto's own code, untouched.
"""

from __future__ import annotations

import functools
import io
from typing import Any, Final

from moto.core.utils import unix_time

_PATCHED: Final = "_photopipe_speedups"
_SNAPSHOT: Final = "_photopipe_attributes"


def install() -> None:
    """Idempotent; acts in this process only (the one serving the API)."""
    from moto import backends
    from moto.sqs import models as sqs_models

    backend_class: Any = sqs_models.SQSBackend
    if getattr(backend_class, _PATCHED, False):
        return

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = functools.wraps(backends.list_of_moto_modules)(lambda: modules)

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention_period + message.sent_timestamp / 1000 > unix_time())

    backend_class.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period

    queue_class: Any = sqs_models.Queue
    build_attributes = queue_class.attributes.fget

    def attributes(self: Any) -> dict[str, Any]:
        snapshot: dict[str, Any] | None = self.__dict__.get(_SNAPSHOT)
        return dict(snapshot) if snapshot is not None else build_attributes(self)

    queue_class.attributes = property(attributes)
    get_queue_attributes = backend_class.get_queue_attributes

    def get_queue_attributes_once(self: Any, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
        queue = self.get_queue(queue_name)
        queue.__dict__[_SNAPSHOT] = build_attributes(queue)
        try:
            return get_queue_attributes(self, queue_name, attribute_names)  # type: ignore[no-any-return]
        finally:
            queue.__dict__.pop(_SNAPSHOT, None)

    backend_class.get_queue_attributes = get_queue_attributes_once
    _list_versions_without_body_copies()
    setattr(backend_class, _PATCHED, True)


class _ShallowCopies:
    """Stands in for the `copy` module inside moto's `list_object_versions` only."""

    @staticmethod
    def deepcopy(versions: list[Any]) -> list[Any]:
        return [_shallow(version) for version in versions]


def _shallow(version: Any) -> Any:
    """A copy with the version's own attribute values and an empty body of its own.

    Not the stored body's buffer: moto closes a key's buffer when the key is garbage-collected, so a copy
    sharing it would close the stored object's body as soon as the listing is answered. The ETag is computed
    on the stored version first (moto caches it there), so the copy never needs a body.
    """
    copied = object.__new__(type(version))
    copied.__dict__.update(version.__dict__)
    if "_value_buffer" in version.__dict__:
        etag = version.etag.strip('"')  # read from the stored body once, and cached there by moto
        copied.__dict__.update(_etag=etag, _value_buffer=io.BytesIO(), multipart=None)
    return copied


def _list_versions_without_body_copies() -> None:
    from moto.s3 import models

    s3_models: Any = models
    backend_class: Any = s3_models.S3Backend
    list_object_versions = backend_class.list_object_versions

    def list_object_versions_shallow(self: Any, *args: Any, **kwargs: Any) -> Any:
        # The server is gevent's: the listing does no I/O, so no other request runs while `copy` is swapped.
        real_copy = s3_models.copy
        s3_models.copy = _ShallowCopies
        try:
            return list_object_versions(self, *args, **kwargs)
        finally:
            s3_models.copy = real_copy

    backend_class.list_object_versions = list_object_versions_shallow
