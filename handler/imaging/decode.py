"""Untrusted bytes to pixels: only allow-listed decoders, errors named for the person who reads the notice."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from handler.errors import ErrorType, PermanentError
from handler.imaging.badinput import damaged, sniff, unidentified
from handler.imaging.formats import ALLOWED_FORMATS

_ORIENTATION_TAG = 0x0112
TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""What each EXIF orientation value asks of the stored pixels to show them upright."""


def open_image(data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise PermanentError(ErrorType.TOO_MANY_PIXELS, str(exc)) from None
    except UnidentifiedImageError:
        raise unidentified(data) from None
    except PermanentError:
        raise
    except Exception as exc:  # decoders raise anything from SyntaxError to struct.error on hostile headers
        raise damaged(data, sniff(data), exc) from None


def load_image(img: Image.Image, data: bytes) -> None:
    try:
        img.load()
    except Image.DecompressionBombError as exc:
        raise PermanentError(ErrorType.TOO_MANY_PIXELS, str(exc)) from None
    except MemoryError:
        raise PermanentError(ErrorType.TOO_MANY_PIXELS, "decoding needs more memory than the limit") from None
    except Exception as exc:
        if _only_trailing_metadata_failed(img, exc):
            Image.Image.load(img)
            return
        raise damaged(data, img.format or sniff(data), exc, img) from None


def _only_trailing_metadata_failed(img: Image.Image, exc: Exception) -> bool:
    """A PNG whose pixels decoded but whose text chunks after IDAT do not (e.g. a zTXt that inflates past
    Pillow's MAX_TEXT_CHUNK): the text is metadata the renditions drop anyway, so the photo is fine.

    Pillow parses those chunks in load_end(), after clearing `tile`; a truncated or corrupt pixel stream
    fails before that, with the tiles still pending.
    """
    pending = getattr(img, "tile", None)
    return img.format == "PNG" and isinstance(exc, ValueError) and pending == [] and "TEXT_CHUNK" in str(exc)


def orientation_to_apply(img: Image.Image) -> int:
    """The EXIF orientation still to apply to the decoded pixels.

    libheif applies HEIF transforms while decoding. Pillow >= 13 turns a TIFF while loading and then drops
    the tag from `tag_v2` (older Pillow leaves both to us), so for TIFF the loaded tags say what is left.
    """
    if img.format == "HEIF":
        return 1
    try:
        if img.format == "TIFF":
            value = getattr(img, "tag_v2", {}).get(_ORIENTATION_TAG, 1)
        else:
            value = img.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block must not reject a photo that decodes
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def normalise_mode(img: Image.Image) -> Image.Image:
    """One of L, LA, RGB, RGBA or CMYK (CMYK stays until its profile can be applied on the small image)."""
    mode = img.mode
    if mode in ("1", "L", "RGB") and "transparency" in img.info:
        # A PNG tRNS key colour (one sample value means transparent) becomes a real alpha channel.
        return img.convert("RGBA" if mode == "RGB" else "LA")
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return img
    if mode == "1":
        return img.convert("L")
    if mode.startswith("I;16") or mode == "I":
        wide = img if mode == "I" else img.convert("I")
        _, high = wide.getextrema()
        if isinstance(high, int) and high > 255:  # 16-bit samples: scale, do not clip, into 8 bits
            wide = wide.point(lambda v: v * (1 / 257))
        return wide.convert("L")
    if mode == "F":
        return img.convert("L")
    if mode == "P":
        return img.convert("RGBA" if "transparency" in img.info else "RGB")
    if mode in ("PA", "RGBa"):
        return img.convert("RGBA")
    if mode == "La":
        return img.convert("LA")
    return img.convert("RGB")
