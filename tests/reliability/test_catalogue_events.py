"""Every catalogued event case gets its documented per-record outcome through the handler, within bounds.

The world is built from the case (objects put, some deleted), the SQS batch is built against it, the handler
runs in a forked, measured child under moto, and each message's outcome is read back from AWS: renditions in
the processed bucket, error notifications through a subscribed queue, batch item failures, skip metrics.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from typing import Any

import pytest

from fixtures.event_cases import EVENT_CASES, EventCase, Message
from handler.constants import (
    LARGE_RENDITION,
    RENDITION_WRITTEN_AT_METADATA,
    SKIP_REASON_DIMENSION,
    THUMBNAIL_RENDITION,
    MetricName,
)
from handler.errors import ErrorType
from handler.keys import extension_for, rendition_key
from tests.support.world import MotoWorld

from .bounded import Meter, run_bounded

RENDITIONS = (LARGE_RENDITION, THUMBNAIL_RENDITION)
MAX_CPU_SECONDS = 8.0
MAX_RSS_GROWTH_MIB = 200.0
FIGURES = os.environ.get("PHOTOPIPE_RELIABILITY_FIGURES")  # a path: append one JSON line per case


def _snapshot(world: MotoWorld) -> dict[str, tuple[str, dict[str, str]]]:
    """Bytes and metadata of every rendition, less when its write started (which a re-run changes)."""
    return {
        k: (
            hashlib.sha256(data).hexdigest(),
            {m: v for m, v in meta.items() if m != RENDITION_WRITTEN_AT_METADATA},
        )
        for k, (data, meta) in world.renditions().items()
    }


def _run_case(world: MotoWorld, case: EventCase, meter: Meter) -> dict[str, Any]:
    stored = {upload.label: world.put(upload.key, upload.data()) for upload in case.uploads}
    for upload in case.uploads:
        if upload.delete:
            world.delete(stored[upload.label])
    view = world.world(stored)
    bodies = [(m.message_id, m.body(view)) for m in case.messages]
    batches = [bodies] if case.one_batch else [[body] for body in bodies]
    failed: list[str] = []
    skipped: Counter[str] = Counter()
    snapshots = []
    with meter:
        for batch in batches:
            invocation = world.invoke(world.sqs_event(batch))
            failed += invocation.failed_ids
            for blob in invocation.emf:
                value = blob.get(MetricName.SKIPPED_OBJECTS)
                if value is not None:
                    skipped[blob.get(SKIP_REASON_DIMENSION, "?")] += sum(
                        value if isinstance(value, list) else [value]
                    )
            snapshots.append(_snapshot(world))
    return {
        "failed": failed,
        "notifications": world.notifications(),
        "snapshots": snapshots,
        "versions": {label: s.version_id for label, s in stored.items()},
        "skipped": dict(skipped),
    }


def _expected_keys(message: Message, extension: str) -> set[str]:
    assert message.key is not None
    return {rendition_key(name, message.key, extension) for name in RENDITIONS}


@pytest.mark.parametrize("case", EVENT_CASES, ids=[c.name for c in EVENT_CASES])
def test_every_record_gets_its_documented_outcome(forkable_world: MotoWorld, case: EventCase) -> None:
    measured = run_bounded(lambda meter: _run_case(forkable_world, case, meter))
    assert measured.error is None, measured.error
    result = measured.value
    if FIGURES:
        with open(FIGURES, "a") as out:
            outcomes = Counter(m.expected for m in case.messages)
            row = {"case": case.name, "messages": len(case.messages), "outcomes": dict(outcomes)}
            row |= {"cpu_s": round(measured.cpu_seconds, 4), "rss_mib": round(measured.rss_growth_mib, 1)}
            out.write(json.dumps(row) + "\n")
    extension = extension_for("JPEG")
    final = result["snapshots"][-1]

    transient = {m.message_id for m in case.messages if m.expected == "transient"}
    assert set(result["failed"]) == transient, "only transient records are batch item failures"

    rejected = [m for m in case.messages if m.expected == "rejected"]
    notes = result["notifications"]
    assert sorted(n["errorType"] for n in notes) == sorted(ErrorType(m.error_type) for m in rejected)
    for m in rejected:
        if m.key is not None:
            assert any(n["key"] == m.key and n["errorType"] == m.error_type for n in notes), m.message_id

    skipped = Counter(m.reason for m in case.messages if m.expected == "skipped")
    assert result["skipped"] == dict(skipped), "each skipped record counts once under its reason"

    processed_keys = {m.key for m in case.messages if m.expected == "processed"}
    for m in case.messages:
        if m.expected == "processed":
            assert _expected_keys(m, extension) <= final.keys(), f"{m.message_id}: renditions missing"
        if m.renditions_from is not None:
            version = result["versions"][m.renditions_from]
            for key in _expected_keys(m, extension):
                assert final[key][1]["source-version-id"] == version, f"{key} comes from the wrong version"
        if (
            m.expected in ("rejected", "skipped")
            and m.key is not None
            and m.key not in processed_keys
            and m.renditions_from is None
        ):
            assert not _expected_keys(m, extension) & final.keys(), f"{m.message_id} left renditions"

    if "idempotence" in case.tags:
        assert all(snapshot == result["snapshots"][0] for snapshot in result["snapshots"]), "bytes changed"

    assert measured.cpu_seconds <= MAX_CPU_SECONDS, f"{measured.cpu_seconds:.2f} s CPU"
    assert measured.rss_growth_mib <= MAX_RSS_GROWTH_MIB, f"{measured.rss_growth_mib:.0f} MiB RSS growth"
