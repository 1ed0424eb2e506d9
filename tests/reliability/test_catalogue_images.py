"""Every catalogued bad or odd image gets its documented outcome through the handler, in CPU and RAM bounds.

Each case runs in a forked child (tests/reliability/bounded.py) under moto: put the bytes, deliver the SQS
notification, run the handler, then read back renditions and error notifications. The CPU time and the peak
resident-memory growth of the handler call are measured in that child and checked against the case's bound.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import pytest
from PIL import Image

from fixtures.catalogue import CATALOGUE, MARK, ImageCase, case_bytes
from fixtures.event_cases import body_for
from handler.errors import ErrorType
from tests.support.world import UPLOAD_BUCKET, MotoWorld

from .bounded import Meter, run_bounded

# The default boxes as the README promises them, written out: not read back from the settings under test.
BOXES = {"large": (1024, 768), "thumbnail": (256, 256)}
FIGURES = os.environ.get("PHOTOPIPE_RELIABILITY_FIGURES")  # a path: append one JSON line per case


def _describe(data: bytes) -> dict[str, Any]:
    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB")
        return {
            "size": img.size,
            "format": img.format,
            "exif": len(img.getexif()) > 0 or "exif" in img.info,
            "xmp": "xmp" in img.info or "XML:com.adobe.xmp" in img.info,
            "comment": "comment" in img.info,
            "top_left": rgb.getpixel((0, 0)),
        }


def _fitted(case: ImageCase, box: tuple[int, int]) -> tuple[int, int]:
    """The displayed size fitted inside the box, never upscaled, never below one pixel."""
    assert case.width is not None
    assert case.height is not None
    scale = min(box[0] / case.width, box[1] / case.height, 1.0)
    return max(1, round(case.width * scale)), max(1, round(case.height * scale))


def _run_case(world: MotoWorld, case: ImageCase, meter: Meter) -> dict[str, Any]:
    stored = world.put(case.filename, case_bytes(case.name))
    event = world.sqs_event([("m-1", body_for(stored, UPLOAD_BUCKET))])
    with meter:
        invocation = world.invoke(event)
    return {
        "failed": invocation.failed_ids,
        "notifications": world.notifications(),
        "renditions": {key: _describe(data) for key, (data, _) in world.renditions().items()},
        "version_id": stored.version_id,
    }


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.name for c in CATALOGUE])
def test_case_gets_its_documented_outcome_within_bounds(forkable_world: MotoWorld, case: ImageCase) -> None:
    case_bytes(case.name)  # built in the parent (and cached there), so the child measures the handler only
    measured = run_bounded(lambda meter: _run_case(forkable_world, case, meter))
    assert measured.error is None, measured.error
    result = measured.value
    if FIGURES:
        with open(FIGURES, "a") as out:
            out.write(
                json.dumps(
                    {
                        "case": case.name,
                        "expected": case.expected,
                        "error_type": case.error_type,
                        "cpu_s": round(measured.cpu_seconds, 4),
                        "rss_mib": round(measured.rss_growth_mib, 1),
                    }
                )
                + "\n"
            )

    assert result["failed"] == [], "a bad input is never a batch item failure: retrying cannot fix it"
    if case.expected == "processed":
        assert result["notifications"] == []
        assert sorted(k.split("/", 1)[0] for k in result["renditions"]) == sorted(BOXES)
        for key, seen in result["renditions"].items():
            box = BOXES[key.split("/", 1)[0]]
            assert seen["size"] == pytest.approx(_fitted(case, box), abs=1), f"{key} is {seen['size']}"
            assert seen["size"][0] <= box[0], f"{key} is outside {box}"
            assert seen["size"][1] <= box[1], f"{key} is outside {box}"
            assert (seen["exif"], seen["xmp"], seen["comment"]) == (False, False, False), (
                f"{key} keeps metadata"
            )
            if case.marked_top_left:
                assert all(abs(a - b) < 60 for a, b in zip(seen["top_left"], MARK, strict=True)), seen
    else:
        assert case.expected == "rejected"
        assert result["renditions"] == {}
        [note] = result["notifications"]
        assert note["errorType"] == ErrorType(case.error_type) == note["_attribute_errorType"]
        assert (note["bucket"], note["key"], note["versionId"]) == (
            UPLOAD_BUCKET,
            case.filename,
            result["version_id"],
        )
        assert note["reason"]

    assert measured.cpu_seconds <= case.max_cpu_seconds, f"{measured.cpu_seconds:.2f} s CPU"
    assert measured.rss_growth_mib <= case.max_rss_growth_mib, f"{measured.rss_growth_mib:.0f} MiB RSS growth"
