"""Colour to sRGB: embedded profiles (Display P3, Adobe RGB, CMYK press profiles) are applied, sRGB kept."""

from __future__ import annotations

import functools
import hashlib
import io

from PIL import Image, ImageCms


def to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """Apply an embedded non-sRGB profile (Display P3, Adobe RGB, CMYK press profiles); drop the rest."""
    alpha = None
    if img.mode in ("RGBA", "LA"):
        alpha = img.getchannel("A")
        img = img.convert("RGB" if img.mode == "RGBA" else "L")
    if icc and img.mode in ("RGB", "CMYK"):
        transform = _transform(icc, img.mode)
        if transform is not None:
            img = ImageCms.applyTransform(img, transform) or img
    if img.mode == "CMYK":
        img = img.convert("RGB")
    if alpha is not None:
        img = img.convert("RGBA" if img.mode == "RGB" else "LA")
        img.putalpha(alpha)
    return img


@functools.lru_cache(maxsize=16)
def _transform_for(digest: str, icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if mode == "RGB" and "srgb" in (ImageCms.getProfileDescription(source) or "").lower():
            return None
        return ImageCms.buildTransform(source, _SRGB, mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None  # an unreadable profile: keep the pixels as they are, as browsers do


def _transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    return _transform_for(hashlib.sha256(icc).hexdigest(), icc, mode)


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
