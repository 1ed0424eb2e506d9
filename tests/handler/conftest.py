"""Shared helpers for the handler tests: fixture pictures decoded back for inspection."""

from __future__ import annotations

import io

import pillow_heif
from PIL import Image

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
