"""Waiting on the local stack: it works asynchronously, so a test polls for what it expects, within a limit,
and a timeout says what it waited for and what it saw instead."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

WAIT_S = 60.0  # generous for an idle local stack on two shared cores
POLL_S = 0.2


def wait_for(
    condition: Callable[[], T],
    what: str,
    *,
    timeout: float = WAIT_S,
    seen: Callable[[], object] | None = None,
) -> T:
    """The first truthy value of `condition()`; after `timeout`, an AssertionError naming `what` and
    `seen()`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(POLL_S)
    raise AssertionError(f"timed out waiting for {what}" + (f"; saw {seen()}" if seen else ""))
