"""Untrusted bytes to pixels: only allow-listed decoders, errors named for the person who reads the notice."""

from __future__ import annotations

import functools
import io

from PIL import Image, UnidentifiedImageError

from handler.errors import DecoderOutOfMemoryError, ErrorType, PermanentError
from handler.imaging.badinput import damaged, sniff, unidentified
from handler.imaging.formats import ALLOWED_FORMATS
from handler.imaging.limits import pixel_limit

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
    """The header parsed by an allow-listed decoder; TooManyPixels over that decoder's limit (limits.py)."""
    img = _open(data)
    width, height = img.size
    limit = pixel_limit(img.format)
    if width * height > limit:
        img.close()
        raise PermanentError(
            ErrorType.TOO_MANY_PIXELS,
            f"{width}x{height} is {width * height:,} pixels, "
            f"over the {img.format} decoder's limit of {limit:,}",
        )
    return img


def _open(data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise PermanentError(ErrorType.TOO_MANY_PIXELS, str(exc)) from None
    except UnidentifiedImageError:
        raise unidentified(data) from None
    except PermanentError:
        raise
    except MemoryError:
        raise DecoderOutOfMemoryError(
            f"opening the {sniff(data) or 'image'} header ran out of memory"
        ) from None
    except Exception as exc:  # decoders raise anything from SyntaxError to struct.error on hostile headers
        raise damaged(data, sniff(data), exc) from None


def load_image(img: Image.Image, data: bytes) -> None:
    _decode_wide_grey_as_8bit(img)
    try:
        img.load()
    except Image.DecompressionBombError as exc:
        raise PermanentError(ErrorType.TOO_MANY_PIXELS, str(exc)) from None
    except MemoryError:
        raise out_of_memory(img, "MemoryError") from None
    except Exception as exc:
        if _only_trailing_metadata_failed(img, exc):
            Image.Image.load(img)
            return
        if ran_out_of_memory(exc):
            raise out_of_memory(img, f"{type(exc).__name__}: {exc}") from None
        raise damaged(data, img.format or sniff(data), exc, img) from None


_OUT_OF_MEMORY_MARKERS = (
    "memory allocation",  # libheif: heif_error_Memory_allocation_error
    "out of memory",  # libavif: AVIF_RESULT_OUT_OF_MEMORY ("Pixel allocation failed: Out of memory")
    "cannot allocate",
    "bad_alloc",
    "unexpected c++ exception",  # libheif: std::bad_alloc escaping a plugin (seen under an address-space cap)
)
"""What the HEIF/AVIF decoders say when an allocation fails: they raise RuntimeError/ValueError with these
texts, never MemoryError. libheif's "Security limit exceeded" is also a memory-allocation error by code, but
its text names the limit, and the pixel limit rejects such images before they reach the decoder."""


def ran_out_of_memory(exc: BaseException) -> bool:
    """Whether a decoder's RuntimeError/ValueError reports a failed allocation rather than damaged data."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return (
        isinstance(exc, RuntimeError | ValueError)
        and "security limit" not in text
        and any(marker in text for marker in _OUT_OF_MEMORY_MARKERS)
    )


def out_of_memory(img: Image.Image, detail: str) -> DecoderOutOfMemoryError:
    width, height = img.size
    return DecoderOutOfMemoryError(
        f"the {img.format or 'image'} decoder ran out of memory on {width}x{height} pixels, within the "
        f"pixel limit ({detail}): retried; raise MemorySize if it persists"
    )


def _decode_wide_grey_as_8bit(img: Image.Image) -> None:
    """A 16-bit grey PNG is unpacked straight to 8 bits (the high byte of each sample) instead of to 16-bit
    samples that normalise_mode widens to 32 bits: 1 byte per pixel instead of 10 at the peak (a 50 MP scan
    peaked at 505 MiB, 64 MiB this way). The same trick as JPEG's draft(): the decoder's output mode is
    chosen before it runs. Left alone when a tRNS key names a 16-bit grey value."""
    tiles = getattr(img, "tile", None)
    if (
        img.format == "PNG"
        and img.mode == "I;16"
        and "transparency" not in img.info
        and tiles
        and len(tiles) == 1
        and tiles[0].args == "I;16B"
    ):
        img.tile = [tiles[0]._replace(args="L;16B")]  # type: ignore[attr-defined]
        img._mode = "L"


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
    if mode.startswith("I;16"):
        wide = img.convert("I")
        _, high = wide.getextrema()
        # 16-bit samples are scaled, not clipped, into 8 bits, by a lookup table straight to L (a point()
        # in I and a convert would hold two more 32-bit copies of the picture)
        return wide.point(_to_eight_bits(isinstance(high, int) and high > 255), "L")
    if mode == "I":
        _, high = img.getextrema()
        wide = img.point(lambda v: v * (1 / 257)) if isinstance(high, int) and high > 255 else img
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


@functools.cache
def _to_eight_bits(scale: bool) -> list[int]:
    """A lookup table from 16-bit samples to 8 (built on first use: it costs milliseconds at cold start)."""
    return [round(v / 257) for v in range(65536)] if scale else [min(v, 255) for v in range(65536)]
