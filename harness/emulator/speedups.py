"""Three of moto's (5.2) per-request costs, computed the same way for less: the answers do not change.

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

Visibility, receive counts, redrive, retention and notifications are moto's own code, untouched.
"""

from __future__ import annotations

import functools
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
    setattr(backend_class, _PATCHED, True)
