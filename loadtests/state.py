"""The state one Locust process keeps over a run, typed in one place.

Kept out of locustfile.py because Locust imports each locustfile under its own module name: the coordinator
reads this state too, so it must live in a module that is imported once.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loadtests.layout import RenditionLayout
from loadtests.mix import FixtureMix
from loadtests.shapes import ShapeSpec
from loadtests.target import Target
from loadtests.watcher import Tracker

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass
class RunState:
    """The uploading side (every process that runs users) and, where the accounting lives, the tracker."""

    options: argparse.Namespace | None = None
    spec: ShapeSpec | None = None
    mix: FixtureMix | None = None
    s3: S3Client | None = None
    start: float = 0.0
    """When this process's load started (epoch seconds): users pace themselves from it."""
    worker: str = "local"
    misdirected: int = 0
    user_ids: itertools.count[int] = field(default_factory=itertools.count)
    # ------------------------------------------------------------------ the accounting side
    target: Target | None = None
    layout: RenditionLayout | None = None
    tracker: Tracker | None = None
    loops: list[Any] = field(default_factory=list)
    """The watcher's greenlets, killed when the run is finalized."""
    run_started: float | None = None
    load_ended_at: float | None = None
    stopped_early_at: float | None = None
    finalized: bool = False
    finished: float | None = None
    cloudwatch_during: list[dict[str, Any]] = field(default_factory=list)
    cloudwatch_notes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the run changed from what it was asked, and why (shown with the summary)."""

    def need_options(self) -> argparse.Namespace:
        """The run's options, which every process has from Locust's init on."""
        if self.options is None:
            raise RuntimeError("the load options are read before Locust's init event")
        return self.options
