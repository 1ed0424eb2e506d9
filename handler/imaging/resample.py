"""Resampling: the sizes each rendition gets, and the filters that take the pixels there.

The renditions are the product, so the filter is LANCZOS (Lanczos-3), the filter of the quality contract's
reference, and every cheaper step in front of it leaves it enough room to remove what it let through:

- JPEG's DCT scaling (`draft`, 1/2, 1/4, 1/8) saves decoding work but is a crude low-pass (each 8x8 block
  on its own, so detail near the source's Nyquist frequency leaks into low frequencies as blotchy moire).
  Asked for exactly the target size it leaves the filter a ratio near 1. It is asked for LANCZOS_MARGIN
  times the target instead. libvips' `thumbnail` and Pillow's `thumbnail` leave a factor of 2; measured
  against the reference (SSIM of the large rendition, minus the naive recipe's), a factor of 2 is not enough:
  with 2.03 left, -0.0016 on a photo with full-band detail and -0.041 on a zone plate; with 2.54 left, -0.0020
  and -0.0087; with 3.0 left, -0.0009 and -0.0007; with 4.06, -0.0005 and -0.0001.
- A box `reduce` takes only the integer part of the ratio beyond the same margin. Measured on a 48 MP photo
  with full-band detail (SSIM of the large rendition against the reference): plain Lanczos 0.9524, box then
  at least 3x of Lanczos 0.9524, box then at least 2x 0.9412.
- Smaller renditions come from the largest one before it is encoded, through the same filter (never a box):
  the thumbnail of a 12 MP photo scores the same SSIM as one made from the full decode, at 1/40 of the cost.

Pixels with alpha are resampled premultiplied: straight alpha bleeds transparent pixels' colour into edges.
"""

from __future__ import annotations

import math

from PIL import Image

FILTER = Image.Resampling.LANCZOS
LANCZOS_MARGIN = 3.0
"""The least ratio left to the filter after a cheaper step (DCT scaling or a box reduce)."""
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The size of `size` fitted inside `box`, keeping the aspect ratio, never upscaled, never below 1 px."""
    scale = min(box[0] / size[0], box[1] / size[1], 1.0)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def draft_request(target: tuple[int, int]) -> tuple[int, int]:
    """The size to ask JPEG's `draft` for: LANCZOS_MARGIN times `target`, so that margin is left."""
    return math.ceil(target[0] * LANCZOS_MARGIN), math.ceil(target[1] * LANCZOS_MARGIN)


def draft_scale(size: tuple[int, int], target: tuple[int, int]) -> int:
    """The DCT scale (1, 2, 4 or 8) Pillow's `draft` picks for `target`: the largest that keeps the margin.

    Pillow's rule, restated so that tests and the benchmark can say which path a photo takes.
    """
    request = draft_request(target)
    ratio = min(size[0] // request[0], size[1] // request[1])
    return next(scale for scale in (8, 4, 2, 1) if ratio >= scale)


def resize(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`img` at `size`: a box `reduce` beyond LANCZOS_MARGIN, then LANCZOS; alpha premultiplied."""
    if img.size == size:
        return img
    premultiplied = _PREMULTIPLIED.get(img.mode)
    if premultiplied is None:
        return img.resize(size, FILTER, reducing_gap=LANCZOS_MARGIN)
    resized = img.convert(premultiplied).resize(size, FILTER, reducing_gap=LANCZOS_MARGIN)
    return resized.convert(img.mode)
