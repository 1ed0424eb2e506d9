"""The settings fingerprint changes with what decides a rendition's bytes, and with nothing else."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from handler.config import Settings
from handler.constants import RenditionSpec
from handler.fingerprint import FINGERPRINT_HEX_DIGITS

BASE = Settings(processed_bucket="processed", error_topic_arn="")


def test_the_fingerprint_is_short_hex_and_stable() -> None:
    assert re.fullmatch(f"[0-9a-f]{{{FINGERPRINT_HEX_DIGITS}}}", BASE.fingerprint)
    assert Settings(processed_bucket="other", error_topic_arn="").fingerprint == BASE.fingerprint


@pytest.mark.parametrize(
    "changed",
    [
        replace(BASE, output_quality=BASE.output_quality - 1),
        replace(BASE, output_formats=("WEBP",)),
        replace(BASE, output_formats=("JPEG", "WEBP")),
        replace(BASE, renditions=(*BASE.renditions, RenditionSpec("medium", 640, 640))),
        replace(BASE, renditions=(RenditionSpec("large", 1600, 1200), *BASE.renditions[1:])),
        replace(BASE, renditions=(RenditionSpec("big", 1024, 768), *BASE.renditions[1:])),
    ],
    ids=["quality", "format", "another-format", "another-rendition", "a-size", "a-name"],
)
def test_a_change_to_what_makes_the_bytes_changes_the_fingerprint(changed: Settings) -> None:
    assert changed.fingerprint != BASE.fingerprint


@pytest.mark.parametrize(
    "unchanged",
    [
        replace(BASE, processed_bucket="elsewhere"),
        replace(BASE, max_pixels=1_000, max_input_bytes=1_000, max_receive_count=1),
        replace(BASE, service_name="another-stack", error_topic_arn="arn:aws:sns:us-east-1:1:t"),
    ],
    ids=["bucket", "input-limits", "names"],
)
def test_what_leaves_the_bytes_alone_leaves_the_fingerprint_alone(unchanged: Settings) -> None:
    assert unchanged.fingerprint == BASE.fingerprint


def test_the_order_of_the_lists_does_not_count() -> None:
    both = replace(BASE, output_formats=("JPEG", "WEBP"))
    assert replace(both, renditions=both.renditions[::-1], output_formats=("WEBP", "JPEG")).fingerprint == (
        both.fingerprint
    )


def test_a_new_engine_changes_the_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    import handler.fingerprint as fingerprint

    before = BASE.fingerprint
    monkeypatch.setattr(fingerprint, "RECIPE_VERSION", fingerprint.RECIPE_VERSION + 1)
    fingerprint._fingerprint.cache_clear()
    recipe_changed = BASE.fingerprint
    monkeypatch.setattr(fingerprint.PIL, "__version__", "0.0.0")
    fingerprint._fingerprint.cache_clear()
    pillow_changed = BASE.fingerprint
    monkeypatch.undo()
    fingerprint._fingerprint.cache_clear()

    assert len({before, recipe_changed, pillow_changed}) == 3
    assert BASE.fingerprint == before
