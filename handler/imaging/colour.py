"""Colour to sRGB: embedded profiles (Display P3, Adobe RGB, CMYK press profiles) and HEIF/AVIF nclx colour
boxes are applied, sRGB kept."""

from __future__ import annotations

import functools
import hashlib
import io

from PIL import Image, ImageCms

from handler.imaging.nclx import Nclx, find_nclx, icc_for


def source_profile(img: Image.Image, data: bytes) -> bytes | None:
    """The ICC profile of the decoded pixels, known from the header: the embedded profile; else, for HEIF and
    AVIF, the one their nclx colour box describes (PermanentError for HDR, see handler.imaging.nclx).

    pillow-heif reports the primary image's nclx box; Pillow's AVIF plugin reports none, so it is read from
    the bytes. Called before decoding, so an HDR photo is rejected without decoding its pixels.
    """
    icc = img.info.get("icc_profile")
    if isinstance(icc, bytes) and icc:
        return icc
    nclx: Nclx | None = None
    if img.format == "HEIF" and isinstance(img.info.get("nclx_profile"), dict):
        nclx = Nclx.from_pillow_heif(img.info["nclx_profile"])
    elif img.format == "AVIF":
        nclx = find_nclx(data)
    return icc_for(nclx) if nclx is not None else None


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
