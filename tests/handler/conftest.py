"""Shared helpers for the handler tests: a moto world for the app, fixture pictures decoded back."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pillow_heif
import pytest
from moto import mock_aws
from PIL import Image

from tests.support.world import aws_credentials

from .aws import World

pillow_heif.register_heif_opener()


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def close_to(pixel: object, expected: tuple[int, ...], tolerance: int) -> bool:
    values = pixel if isinstance(pixel, tuple) else (pixel,)
    return len(values) >= len(expected) and all(
        abs(int(a) - b) <= tolerance for a, b in zip(values, expected, strict=False)
    )


@pytest.fixture
def world() -> Iterator[World]:
    """The one moto world (tests/support/world.py) in the handler tests' calling conventions."""
    with aws_credentials(), mock_aws():
        yield World()
