"""HEIF and AVIF whose colour is given by an nclx box come out in sRGB, or are rejected naming what they are.

The expected colours are computed here independently of the handler's ICC path: decode each space's transfer
to linear light, convert primaries through XYZ (both spaces are D65), encode sRGB.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fixtures.generate import NCLX_SPACES, PATCH, fixture_bytes
from handler.constants import RenditionSpec
from handler.errors import ErrorType, PermanentError
from handler.imaging import OutputSpec, make_renditions
from handler.imaging.nclx import Nclx, find_nclx, icc_for

SPECS = (RenditionSpec("large", 1024, 768),)
TOLERANCE = 6  # HEIF/AVIF at quality 90 with 4:2:0 chroma, then JPEG at 85, on a flat patch


def _rgb_to_xyz(primaries: tuple[tuple[float, float], ...]) -> np.ndarray:
    white = np.array([0.3127 / 0.3290, 1.0, (1 - 0.3127 - 0.3290) / 0.3290])
    columns = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in primaries]).T
    return columns * np.linalg.solve(columns, white)


SRGB = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
SPACES = {
    "display-p3": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),
    "bt2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046)),
}


def _srgb_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _bt709_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v < 0.081, v / 4.5, ((v + 0.099) / 1.099) ** (1 / 0.45))


def _expected(space: str, rgb: tuple[int, int, int]) -> tuple[int, ...]:
    encoded = np.array(rgb) / 255
    linear = _srgb_decode(encoded) if space == "display-p3" else _bt709_decode(encoded)
    xyz = _rgb_to_xyz(SPACES[space]) @ linear
    srgb_linear = np.clip(np.linalg.solve(_rgb_to_xyz(SRGB), xyz), 0, 1)
    out = np.where(srgb_linear <= 0.0031308, 12.92 * srgb_linear, 1.055 * srgb_linear ** (1 / 2.4) - 0.055)
    return tuple(round(float(c) * 255) for c in out)


def _centre(name: str) -> tuple[int, ...]:
    [rendition] = make_renditions(fixture_bytes(name), SPECS, OutputSpec("JPEG", 85), max_pixels=50_000_000)
    with Image.open(io.BytesIO(rendition.data)) as img:
        rgb = img.convert("RGB")
        return tuple(rgb.getpixel((rgb.width // 2, rgb.height // 2)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "space"),
    [
        ("heic-nclx-display-p3", "display-p3"),
        ("heic-nclx-bt2020", "bt2020"),
        ("avif-nclx-display-p3", "display-p3"),
    ],
)
def test_an_sdr_nclx_colour_space_is_converted_to_srgb(name: str, space: str) -> None:
    expected = _expected(space, PATCH)
    assert max(abs(a - b) for a, b in zip(expected, PATCH, strict=True)) > 3 * TOLERANCE, (
        "a test that can fail"
    )
    centre = _centre(name)
    assert max(abs(a - b) for a, b in zip(centre, expected, strict=True)) <= TOLERANCE, (centre, expected)


@pytest.mark.parametrize(
    ("name", "named"), [("heic-nclx-pq", "PQ (SMPTE ST 2084)"), ("heic-nclx-hlg", "HLG")]
)
def test_hdr_is_rejected_with_its_transfer_and_primaries_named(name: str, named: str) -> None:
    with pytest.raises(PermanentError) as caught:
        make_renditions(fixture_bytes(name), SPECS, OutputSpec("JPEG", 85), max_pixels=50_000_000)
    assert caught.value.error_type == ErrorType.UNSUPPORTED_FORMAT
    assert named in caught.value.reason
    assert "BT.2020 primaries" in caught.value.reason


def test_the_fixtures_carry_the_code_points_they_are_named_for() -> None:
    assert find_nclx(fixture_bytes("avif-nclx-display-p3")) == Nclx(*NCLX_SPACES["display-p3"], 6)


def test_srgb_and_unspecified_need_no_conversion_and_unknown_spaces_are_named() -> None:
    assert icc_for(Nclx(1, 13)) is None
    assert icc_for(Nclx(2, 2)) is None
    with pytest.raises(PermanentError) as caught:
        icc_for(Nclx(22, 13))
    assert "code 22" in caught.value.reason
