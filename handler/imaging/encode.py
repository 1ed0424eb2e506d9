"""Pixels to the bytes of one rendition: the output format's settings live here and nowhere else."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from handler.constants import OUTPUT_FORMAT_BY_NAME
from handler.imaging.icc import srgb_profile

WHITE = (255, 255, 255)


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
    """The pixels in a mode the format can hold: alpha composited on white where it has none, grey as RGB."""
    if not OUTPUT_FORMAT_BY_NAME[fmt].keeps_alpha:
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
    spec = OUTPUT_FORMAT_BY_NAME.get(output.format)
    if spec is None:
        raise ValueError(
            f"unknown output format {output.format!r}; allowed: {', '.join(OUTPUT_FORMAT_BY_NAME)}"
        )
    icc = srgb_profile() if spec.carries_icc and img.mode in ("RGB", "RGBA") else b""
    options = dict(spec.encoder_options)
    if spec.name == "JPEG":
        options["progressive"] = output.progressive
    buf = io.BytesIO()
    img.save(buf, spec.name, quality=output.quality, icc_profile=icc, **options)
    return Rendition(name, buf.getvalue(), img.width, img.height, spec.content_type, spec.extension)
