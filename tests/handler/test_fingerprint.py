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
        replace(BASE, output_format="WEBP"),
    ],
    ids=["quality", "format"],
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


def test_the_order_of_the_renditions_does_not_count() -> None:
    from handler.fingerprint import settings_fingerprint

    specs = (RenditionSpec("large", 1024, 768), RenditionSpec("thumbnail", 256, 256))
    assert settings_fingerprint(specs, ["JPEG", "WEBP"], 85) == settings_fingerprint(
        specs[::-1], ["WEBP", "JPEG"], 85
    )
    assert settings_fingerprint(specs, ["JPEG"], 85) != settings_fingerprint(
        (RenditionSpec("large", 1024, 769), specs[1]), ["JPEG"], 85
    )
