"""How big a picture each decoder may be given, and how many threads it may use: what memory is sized for.

A decoder's peak memory grows with the pixel count, not the file size, and differs by format (measured by
`python -m harness.worstcase`, figures in handler/capacity.py). The configured MAX_PIXELS can be lower than
these limits, never higher in effect: the function's smallest allowed MemorySize is derived from the worst
input these limits accept.
"""

from __future__ import annotations

from typing import Final

DECODE_PIXEL_LIMIT: Final = 50_000_000
"""Every format: a 50 MP photo decoded at full size (HEIF, PNG, TIFF, AVIF, GIF) is what memory is sized
for."""

FORMAT_PIXEL_LIMITS: Final[dict[str, int]] = {"WEBP": 25_000_000}
"""Lower limits where a decoder needs far more per pixel: Pillow's WebP plugin decodes through libwebp's
animation decoder, which holds two RGBA canvases beside the copy handed to Pillow (16 bytes per pixel, 799 MiB
peak at 50 MP, against 400-470 MiB for a 48-50 MP HEIF or AVIF)."""

DECODER_THREADS: Final = 1
"""libheif and libavif threads. The handler is single-threaded and Lambda gives one vCPU at 1,769 MB, so more
threads buy no speed below it; a fixed count keeps the decoders' buffers the same on every memory size
(Pillow's AVIF default is one thread per CPU, up to six on Lambda)."""


def pixel_limit(fmt: str | None) -> int:
    """The most pixels a decoder of `fmt` is given, whatever MAX_PIXELS says."""
    return FORMAT_PIXEL_LIMITS.get(fmt or "", DECODE_PIXEL_LIMIT)
