"""Compact ICC v2 matrix/TRC display profiles, and the sRGB one every rendition carries.

Why renditions are tagged: Firefox colour-manages only tagged images by default, so an untagged sRGB rendition
looks oversaturated on a wide-gamut screen. Why the profile is built here rather than by LittleCMS: Pillow's
LittleCMS writes version 4 profiles (588 bytes for sRGB), and Firefox's default colour management reads only
version 2 ones. A v2 profile with the sRGB colorants and a 32-point tone curve is 528 bytes and agrees with
LittleCMS's own sRGB within one 8-bit level (tests/handler/test_icc.py).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence

D50 = (0.9642, 1.0, 0.8249)
# Colorants (XYZ of full red, green, blue) adapted to D50, as ICC profiles store them.
SRGB_COLORANTS = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))
SRGB_CURVE_POINTS = 32
Colorants = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \x00\x00\x00\x00" + _s15(x) + _s15(y) + _s15(z)


def gamma_curve(gamma: float) -> bytes:
    """A 'curv' tag of one pure power."""
    return b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, round(gamma * 256)) + b"\x00\x00"


def sampled_curve(samples: Sequence[float]) -> bytes:
    """A 'curv' tag from samples in 0..1, evenly spaced over the input range (interpolated by the CMM)."""
    table = struct.pack(f">{len(samples)}H", *(round(min(1.0, max(0.0, s)) * 65535) for s in samples))
    return b"curv\x00\x00\x00\x00" + struct.pack(">I", len(samples)) + table


def srgb_eotf(value: float) -> float:
    """IEC 61966-2-1: encoded sRGB value to linear light."""
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def _desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\x00"
    return (
        b"desc\x00\x00\x00\x00"
        + struct.pack(">I", len(ascii_text))
        + ascii_text
        + struct.pack(">II", 0, 0)  # no Unicode description
        + struct.pack(">HB", 0, 0)
        + b"\x00" * 67  # no ScriptCode description
    )


def _text(text: str) -> bytes:
    return b"text\x00\x00\x00\x00" + text.encode("ascii") + b"\x00"


def rgb_profile(
    description: str, colorants: Colorants, curve: bytes, copyright_text: str = "No copyright"
) -> bytes:
    """A v2 monitor profile: RGB -> XYZ through one tone curve (shared by the channels) and the colorants."""
    red, green, blue = colorants
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", _desc(description)),
        (b"cprt", _text(copyright_text)),
        (b"wtpt", _xyz(*D50)),
        (b"rXYZ", _xyz(*red)),
        (b"gXYZ", _xyz(*green)),
        (b"bXYZ", _xyz(*blue)),
        (b"rTRC", curve),
    ]
    shared = (b"gTRC", b"bTRC")  # point at the red curve's bytes: one copy of the table
    table_size = 4 + 12 * (len(tags) + len(shared))
    offset = 128 + table_size
    table = struct.pack(">I", len(tags) + len(shared))
    body = b""
    for signature, data in tags:
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\x00" * (-len(data) % 4)
    curve_offset = offset + len(body) - len(curve) - (-len(curve) % 4)
    for signature in shared:
        table += signature + struct.pack(">II", curve_offset, len(curve))
    size = 128 + table_size + len(body)
    header = (
        struct.pack(">I", size)
        + b"\x00\x00\x00\x00"  # preferred CMM
        + struct.pack(">I", 0x02100000)  # version 2.1
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 11, 29, 0, 0, 0)
        + b"acsp"
        + b"\x00" * 4  # platform
        + b"\x00" * 4  # flags
        + b"\x00" * 8  # manufacturer, model
        + b"\x00" * 8  # attributes
        + struct.pack(">I", 0)  # perceptual
        + _s15(D50[0])
        + _s15(D50[1])
        + _s15(D50[2])
        + b"\x00" * 4  # creator
        + b"\x00" * 44
    )
    return header + table + body


@functools.cache
def srgb_profile() -> bytes:
    """The compact sRGB v2 profile embedded in every rendition that can carry one."""
    samples = [srgb_eotf(i / (SRGB_CURVE_POINTS - 1)) for i in range(SRGB_CURVE_POINTS)]
    return rgb_profile("sRGB (compact)", SRGB_COLORANTS, sampled_curve(samples), "Public domain")
