"""Pixels to the bytes of one rendition: the output format's settings live here and nowhere else."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from handler.imaging.icc import srgb_profile
from handler.keys import content_type_for, extension_for

WHITE = (255, 255, 255)

# Encoder settings that keep WebP and AVIF affordable on one Lambda vCPU. AVIF runs single-threaded so that
# its output bytes do not depend on the machine's core count.
WEBP_METHOD = 4
AVIF_SPEED = 8
AVIF_THREADS = 1


@dataclass(frozen=True, slots=True)
class OutputSpec:
    format: str
    quality: int
    progressive: bool = True
    """JPEG only; baseline exists for the benchmark's bytes before/after."""


@dataclass(frozen=True, slots=True)
class Rendition:
    name: str
    data: bytes
    width: int
    height: int
    content_type: str
    extension: str


def for_format(img: Image.Image, fmt: str) -> Image.Image:
    if fmt == "JPEG":
        if img.mode in ("RGBA", "LA"):
            ground = Image.new("RGB" if img.mode == "RGBA" else "L", img.size, WHITE[: len(img.mode) - 1])
            ground.paste(img, mask=img.getchannel("A"))
            return ground
        return img
    if img.mode == "L":
        return img.convert("RGB")
    if img.mode == "LA":
        return img.convert("RGBA")
    return img


def encode(name: str, img: Image.Image, output: OutputSpec) -> Rendition:
    """The rendition's bytes: none of the source's metadata, and the sRGB profile where the format has one.

    JPEG is progressive (smaller from about 10 KB up, and it shows a whole preview early on a slow link);
    Huffman tables are optimised either way. AVIF states sRGB in its own colour box (nclx): no ICC needed.
    A grey JPEG stays untagged: an RGB profile cannot describe it, and grey looks the same in every gamut.
    """
    img.info = {}  # nothing of the source's metadata may reach an output (AVIF falls back to im.info)
    buf = io.BytesIO()
    fmt = output.format
    icc = srgb_profile() if img.mode in ("RGB", "RGBA") else b""
    if fmt == "JPEG":
        img.save(
            buf,
            "JPEG",
            quality=output.quality,
            optimize=True,
            progressive=output.progressive,
            icc_profile=icc,
        )
    elif fmt == "WEBP":
        img.save(buf, "WEBP", quality=output.quality, method=WEBP_METHOD, icc_profile=icc)
    elif fmt == "AVIF":
        img.save(
            buf,
            "AVIF",
            quality=output.quality,
            speed=AVIF_SPEED,
            max_threads=AVIF_THREADS,
            icc_profile=b"",
            exif=b"",
        )
    else:
        raise ValueError(f"unknown output format {fmt!r}")
    return Rendition(name, buf.getvalue(), img.width, img.height, content_type_for(fmt), extension_for(fmt))
