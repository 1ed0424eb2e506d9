"""Colour given as code points (an HEIF/AVIF `nclx` colour box) instead of an ICC profile.

HEIF and AVIF may say "BT.2020 primaries, PQ transfer" as three numbers (ITU-T H.273) instead of embedding a
profile. The decoders apply only the matrix (YCbCr to RGB); the RGB they return is still in the declared
primaries and transfer. An SDR space (Display P3, BT.2020, BT.601) is converted by building the ICC profile
the numbers describe and handing it to the same ICC path as an embedded profile. An HDR transfer (PQ, HLG)
needs tone mapping, which the pipeline does not do: such a photo is rejected with a reason naming it, rather
than delivered with washed-out or clipped colour.

Why a hand-built profile: Pillow's ImageCms can create only sRGB, LAB and XYZ profiles; the matrix/TRC
layout is handler.imaging.icc's, which also writes the renditions' compact sRGB profile.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from handler.errors import ErrorType, PermanentError
from handler.imaging.icc import D50, rgb_profile, sampled_curve, srgb_eotf

Chromaticity = tuple[float, float]

D65: Chromaticity = (0.3127, 0.3290)
_PRIMARIES: dict[int, tuple[str, Chromaticity, Chromaticity, Chromaticity, Chromaticity]] = {
    # H.273 ColourPrimaries: name, red, green, blue, white
    1: ("BT.709/sRGB", (0.640, 0.330), (0.300, 0.600), (0.150, 0.060), D65),
    4: ("BT.470 System M", (0.67, 0.33), (0.21, 0.71), (0.14, 0.08), (0.310, 0.316)),
    5: ("BT.601 625-line", (0.640, 0.330), (0.290, 0.600), (0.150, 0.060), D65),
    6: ("BT.601 525-line", (0.630, 0.340), (0.310, 0.595), (0.155, 0.070), D65),
    7: ("SMPTE 240M", (0.630, 0.340), (0.310, 0.595), (0.155, 0.070), D65),
    9: ("BT.2020", (0.708, 0.292), (0.170, 0.797), (0.131, 0.046), D65),
    11: ("DCI-P3", (0.680, 0.320), (0.265, 0.690), (0.150, 0.060), (0.314, 0.351)),
    12: ("Display P3", (0.680, 0.320), (0.265, 0.690), (0.150, 0.060), D65),
}
_SRGB_PRIMARIES = frozenset({1, 2})  # 2: unspecified, shown as sRGB (as browsers do)


def _bt709_inverse_oetf(v: float) -> float:
    return v / 4.5 if v < 0.081 else ((v + 0.099) / 1.099) ** (1 / 0.45)


_TRANSFERS: dict[int, tuple[str, Callable[[float], float]]] = {
    # H.273 TransferCharacteristics: name, encoded value -> linear light
    1: ("BT.709", _bt709_inverse_oetf),
    4: ("gamma 2.2", lambda v: v**2.2),
    5: ("gamma 2.8", lambda v: v**2.8),
    6: ("BT.601", _bt709_inverse_oetf),
    8: ("linear", lambda v: v),
    13: ("sRGB", srgb_eotf),
    14: ("BT.2020 10-bit", _bt709_inverse_oetf),
    15: ("BT.2020 12-bit", _bt709_inverse_oetf),
}
_SRGB_TRANSFERS = frozenset({2, 13})  # 2: unspecified
_HDR_TRANSFERS = {16: "PQ (SMPTE ST 2084)", 18: "HLG (ARIB STD-B67)"}


@dataclass(frozen=True, slots=True)
class Nclx:
    """The three H.273 code points that matter for colour (the matrix is the decoder's business)."""

    primaries: int
    transfer: int
    matrix: int = 2

    @classmethod
    def from_pillow_heif(cls, profile: Mapping[str, object]) -> Nclx:
        def code(name: str) -> int:
            value = profile.get(name, 2)
            return int(value) if isinstance(value, int) else 2

        return cls(code("color_primaries"), code("transfer_characteristics"), code("matrix_coefficients"))

    def describe(self) -> str:
        primaries = _PRIMARIES.get(self.primaries, (f"code {self.primaries}",))[0]
        transfer = (
            _HDR_TRANSFERS.get(self.transfer) or _TRANSFERS.get(self.transfer, (f"code {self.transfer}",))[0]
        )
        return f"{primaries} primaries, {transfer} transfer"


def find_nclx(data: bytes) -> Nclx | None:
    """The first `colr` box of type `nclx` in an ISOBMFF file (HEIF/AVIF), read from the bytes.

    Pillow's AVIF plugin does not report it. The box is 19 bytes: size, 'colr', 'nclx', primaries, transfer,
    matrix (16 bits each) and the full-range flag; the colour item's box comes first in every file seen.
    """
    start = 0
    while (at := data.find(b"colrnclx", start)) >= 4:
        start = at + 1
        size = struct.unpack(">I", data[at - 4 : at])[0]
        if size >= 18 and at + 14 <= len(data):
            primaries, transfer, matrix = struct.unpack(">HHH", data[at + 8 : at + 14])
            return Nclx(primaries, transfer, matrix)
    return None


def icc_for(nclx: Nclx) -> bytes | None:
    """The ICC profile of the space `nclx` names; None for sRGB; PermanentError for what cannot be shown."""
    if nclx.transfer in _HDR_TRANSFERS:
        raise PermanentError(
            ErrorType.UNSUPPORTED_FORMAT,
            f"HDR colour ({nclx.describe()}) needs tone mapping to sRGB, which is not supported; "
            "export the photo as SDR (sRGB or Display P3)",
        )
    if nclx.primaries in _SRGB_PRIMARIES and nclx.transfer in _SRGB_TRANSFERS:
        return None
    if nclx.primaries not in _PRIMARIES and nclx.primaries not in _SRGB_PRIMARIES:
        raise PermanentError(
            ErrorType.UNSUPPORTED_FORMAT,
            f"the colour space ({nclx.describe()}) has primaries that cannot be converted to sRGB; "
            f"supported primaries: {', '.join(name for name, *_ in _PRIMARIES.values())}",
        )
    if nclx.transfer not in _TRANSFERS and nclx.transfer not in _SRGB_TRANSFERS:
        raise PermanentError(
            ErrorType.UNSUPPORTED_FORMAT,
            f"the colour space ({nclx.describe()}) has a transfer function that cannot be converted to sRGB; "
            f"supported: {', '.join(name for name, _ in _TRANSFERS.values())}",
        )
    return _profile(1 if nclx.primaries == 2 else nclx.primaries, 13 if nclx.transfer == 2 else nclx.transfer)


# ------------------------------------------------------------------------------------------ the profile
_BRADFORD = ((0.8951, 0.2664, -0.1614), (-0.7502, 1.7135, 0.0367), (0.0389, -0.0685, 1.0296))

Vector = tuple[float, ...]
Matrix = tuple[Vector, ...]


def _mul(a: Matrix, b: Matrix) -> Matrix:
    return tuple(tuple(sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)) for i in range(3))


def _apply(m: Matrix, v: Vector) -> Vector:
    return tuple(float(sum(m[i][k] * v[k] for k in range(3))) for i in range(3))


def _inverse(m: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return (
        ((e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det),
        ((f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det),
        ((d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det),
    )


def _xyz_of(xy: Chromaticity) -> Vector:
    x, y = xy
    return x / y, 1.0, (1 - x - y) / y


def colorants(primaries: int) -> Matrix:
    """XYZ of full red, green and blue, adapted to D50 (Bradford), as an ICC profile stores them."""
    _, red, green, blue, white = _PRIMARIES[primaries]
    columns = [_xyz_of(c) for c in (red, green, blue)]
    rgb_to_xyz_unscaled = tuple(tuple(columns[j][i] for j in range(3)) for i in range(3))
    scale = _apply(_inverse(rgb_to_xyz_unscaled), _xyz_of(white))
    rgb_to_xyz = tuple(tuple(rgb_to_xyz_unscaled[i][j] * scale[j] for j in range(3)) for i in range(3))
    source, target = _apply(_BRADFORD, _xyz_of(white)), _apply(_BRADFORD, D50)
    gain = tuple(tuple(target[i] / source[i] if i == j else 0.0 for j in range(3)) for i in range(3))
    adapt = _mul(_mul(_inverse(_BRADFORD), gain), _BRADFORD)
    adapted = _mul(adapt, rgb_to_xyz)
    return tuple(tuple(adapted[i][j] for i in range(3)) for j in range(3))  # one XYZ triple per colorant


@functools.cache
def _profile(primaries: int, transfer: int) -> bytes:
    """A version 2 RGB display profile: the transfer's tone curve (1,024 samples) and the colorants."""
    to_linear = _TRANSFERS[transfer][1] if transfer in _TRANSFERS else srgb_eotf
    curve = sampled_curve([to_linear(i / (_CURVE_POINTS - 1)) for i in range(_CURVE_POINTS)])
    red, green, blue = colorants(primaries)
    # Numbers only: handler.imaging.colour skips a profile whose description says "sRGB"
    name = f"H.273 colour primaries {primaries}, transfer characteristics {transfer}"
    return rgb_profile(name, (_triple(red), _triple(green), _triple(blue)), curve, "Public domain")


_CURVE_POINTS = 1024


def _triple(v: Vector) -> tuple[float, float, float]:
    return v[0], v[1], v[2]
