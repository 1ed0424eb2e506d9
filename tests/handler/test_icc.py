"""The compact sRGB profile every RGB rendition carries: version 2, small, and the same colours as sRGB."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageCms

from handler.imaging.icc import srgb_profile


def test_the_profile_is_version_2_so_browsers_that_read_only_v2_apply_it() -> None:
    profile = srgb_profile()
    assert profile[8] == 2
    assert profile[12:20] == b"mntrRGB "
    assert int.from_bytes(profile[:4], "big") == len(profile)


def test_the_profile_costs_a_rendition_under_600_bytes() -> None:
    assert len(srgb_profile()) < 600


def test_the_profile_maps_every_colour_to_itself_in_littlecms_srgb_within_one_level() -> None:
    levels = np.arange(0, 256, 5, dtype=np.uint8)
    cube = np.stack(np.meshgrid(levels, levels, levels), axis=-1).reshape(-1, 1, 3)
    ours = ImageCms.ImageCmsProfile(io.BytesIO(srgb_profile()))
    transform = ImageCms.buildTransform(ours, ImageCms.createProfile("sRGB"), "RGB", "RGB")
    out = ImageCms.applyTransform(Image.fromarray(cube, "RGB"), transform)
    assert out is not None
    assert int(np.abs(np.asarray(out, dtype=int) - cube.astype(int)).max()) <= 1
