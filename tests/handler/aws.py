"""The handler tests' calling conventions over the one moto world (tests/support/world.py).

The handler tests were written against these spellings (positional `deps`, `sqs_event(*bodies)`, renditions
with their headers, only the notifications not read yet); the world itself, its buckets, events and capture
of what the function printed, is the support package's.
"""

from __future__ import annotations

from typing import Any

from fixtures.event_cases import Stored
from handler.app import Dependencies
from handler.config import Settings
from tests.support.world import PROCESSED_BUCKET, SERVICE, UPLOAD_BUCKET, Invocation, MotoWorld

__all__ = ["PROCESSED", "SERVICE", "UPLOADS", "Result", "Upload", "World"]

UPLOADS = UPLOAD_BUCKET
PROCESSED = PROCESSED_BUCKET
Upload = Stored


class Result(Invocation):
    def metric(self, name: str, **dimensions: str) -> list[float]:
        return self.metric_values(name, **dimensions)


class World(MotoWorld):
    deps = MotoWorld.dependencies

    @property
    def topic(self) -> str:
        return self.topic_arn

    def sqs_event(  # type: ignore[override]
        self, *bodies: tuple[str, str], receive_count: int = 1
    ) -> dict[str, Any]:
        return super().sqs_event(list(bodies), receive_count=receive_count)

    def invoke(  # type: ignore[override]
        self, event: Any, deps: Dependencies | None = None, settings: Settings | None = None
    ) -> Result:
        done = super().invoke(event, deps=deps, settings=settings)
        return Result(done.response, done.emf, done.logs)

    def notifications(self) -> list[dict[str, Any]]:
        """The notifications published since the last call, each with its errorType attribute as
        `_attribute`."""
        found = super().notifications()
        self.forget_notifications()
        for note in found:
            note["_attribute"] = note.pop("_attribute_errorType")
        return found

    def renditions(self) -> dict[str, dict[str, Any]]:  # type: ignore[override]
        return self.rendition_objects()
