"""Pacing of what the harness sends: at most a rate of messages a second, on average, batch by batch.

A reprocess or a reconcile --fix sends as fast as SQS accepts unless told otherwise; the function drains the
queue much more slowly, and a backlog older than the queue-age alarm's threshold pages someone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from harness.params import InvalidInputError

# The default rate stays below what the function drains at its default MaximumConcurrency (10 invocations at
# about 0.3 s a photo): a reprocess then never builds a backlog that raises the queue-age alarm.
DEFAULT_RATE: Final = 20.0
MAX_RATE: Final = 3000.0


class Pacer:
    """At most `per_second` messages a second on average, batch by batch; clock and sleep are injected so a
    test can count the waiting instead of doing it."""

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < per_second <= MAX_RATE:
            raise InvalidInputError(f"rate {per_second}: allowed 0 < messages per second <= {MAX_RATE:g}")
        self._interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    def wait(self, count: int) -> None:
        """Block until `count` more messages may go."""
        now = self._clock()
        if self._next is not None and self._next > now:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + count * self._interval
