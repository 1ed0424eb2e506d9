"""The quality gates: every rendition is as close to a careful reference as the naive recipe, without alias.

The reference is full decode, EXIF transpose, ICC to sRGB, LANCZOS in float, no encoding
(`harness.measures.quality`). The naive recipe is full decode + LANCZOS + the handler's own JPEG quality. The
fixtures carry detail up to the source's Nyquist frequency (`fixtures.detail`), at the ratios where a fast
path is most tempted to cut corners: just over 4x and 2x (JPEG DCT scaling), a portrait phone photo, a PNG (no
DCT scaling at all).
"""

from __future__ import annotations

import functools

import pytest
from PIL import Image

from fixtures.detail import detail_bytes
from handler.config import Settings
from handler.imaging import OutputSpec, make_renditions, resample
from harness.measures.quality import (
    FixtureReference,
    RenditionQuality,
    alias_failures,
    colour_failures,
    naive_renditions,
    ssim_failures,
)

SETTINGS = Settings(processed_bucket="processed", error_topic_arn="")
SPECS = SETTINGS.renditions
SSIM_FIXTURES = (
    "detail-13mp-just-over-4x",
    "detail-12mp-portrait",
    "detail-2mp-just-over-2x",
    "detail-2mp-png",
    "detail-2mp-display-p3",
)
ZONE_PLATES = ("zoneplate-12mp", "zoneplate-13mp-just-over-4x", "zoneplate-2mp-png")


@functools.cache
def _reference(fixture: str) -> FixtureReference:
    return FixtureReference.build(fixture, SPECS)


@functools.cache
def _handler(fixture: str) -> dict[str, RenditionQuality]:
    """The shipped recipe's scores (computed once per fixture: several gates read them)."""
    return _render_and_judge(fixture)


def _render_and_judge(fixture: str) -> dict[str, RenditionQuality]:
    renditions = make_renditions(
        detail_bytes(fixture),
        SPECS,
        [OutputSpec(fmt, SETTINGS.output_quality) for fmt in SETTINGS.output_formats],
        max_pixels=SETTINGS.max_pixels,
    )
    return _reference(fixture).judge({r.name: r.data for r in renditions})


@functools.cache
def _naive(fixture: str) -> dict[str, RenditionQuality]:
    return _reference(fixture).judge(naive_renditions(detail_bytes(fixture), SPECS, SETTINGS.output_quality))


@pytest.mark.parametrize("fixture", SSIM_FIXTURES + ZONE_PLATES)
def test_every_rendition_is_as_close_to_the_reference_as_the_naive_recipe(fixture: str) -> None:
    assert ssim_failures(_reference(fixture), _handler(fixture), _naive(fixture)) == []


@pytest.mark.parametrize("fixture", SSIM_FIXTURES)
def test_every_rendition_keeps_the_references_colour_within_a_just_noticeable_difference(
    fixture: str,
) -> None:
    assert colour_failures(_reference(fixture), _handler(fixture)) == []


@pytest.mark.parametrize("fixture", ZONE_PLATES)
def test_no_rendition_aliases_a_zone_plate_more_than_twice_the_reference(fixture: str) -> None:
    assert alias_failures(_reference(fixture), _handler(fixture)) == []


def test_the_gates_reject_the_former_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hamming after a DCT scale chosen for exactly the target, and a box-reduced thumbnail (old recipe)."""
    monkeypatch.setattr(resample, "FILTER", Image.Resampling.HAMMING)
    monkeypatch.setattr(resample, "LANCZOS_MARGIN", 1.0)
    photo, chart = "detail-13mp-just-over-4x", "zoneplate-13mp-just-over-4x"
    blurred = ssim_failures(_reference(photo), _render_and_judge(photo), _naive(photo))
    aliased = alias_failures(_reference(chart), _render_and_judge(chart))
    assert {line.split(":")[0] for line in blurred} == {f"{photo} large", f"{photo} thumbnail"}
    assert {line.split(":")[0] for line in aliased} == {f"{chart} large", f"{chart} thumbnail"}
