"""From the bytes of an upload to encoded renditions: pure Pillow, no AWS.

Why it is shaped this way: decoding dominates the cost of a photo, so the image is decoded once, JPEGs at the
smallest DCT scale (`draft`) that still covers the largest rendition; every smaller rendition is derived from
the larger one instead of from the original. Colour management and orientation run on the already small image.
Untrusted bytes only reach decoders on the allow-list, and only after the header says the pixel count is
within the limit.
"""

from __future__ import annotations

import functools
import hashlib
import io
import struct
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageCms, UnidentifiedImageError

from handler.constants import RenditionSpec
from handler.errors import ErrorType, PermanentError
from handler.keys import content_type_for, extension_for

try:  # HEIC/HEIF (phone photos) decode through pillow-heif's libheif; without it they are UnsupportedFormat.
    import pillow_heif

    pillow_heif.register_heif_opener()
    _HEIF = True
except ImportError:  # pragma: no cover - the handler extra always installs it
    _HEIF = False

ALLOWED_FORMATS: tuple[str, ...] = (
    "JPEG",
    "PNG",
    "WEBP",
    "GIF",
    "TIFF",
    "AVIF",
    *(("HEIF",) if _HEIF else ()),
)
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})
WHITE = (255, 255, 255)

# Encoder settings that keep WebP and AVIF affordable on one Lambda vCPU. AVIF runs single-threaded so that
# its output bytes do not depend on the machine's core count.
WEBP_METHOD = 4
AVIF_SPEED = 8
AVIF_THREADS = 1

# Resampling: the base rendition comes from a DCT-scaled decode (usually under 2x away), the smaller ones from
# the base; see _resize.
RESAMPLE = Image.Resampling.HAMMING
BASE_REDUCING_GAP = 2.0
DERIVED_REDUCING_GAP = 1.0

_ORIENTATION_TAG = 0x0112
_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True, slots=True)
class OutputSpec:
    format: str
    quality: int


@dataclass(frozen=True, slots=True)
class Rendition:
    name: str
    data: bytes
    width: int
    height: int
    content_type: str
    extension: str


# ----------------------------------------------------------------------------------------- the recipe
def make_renditions(
    data: bytes, specs: Sequence[RenditionSpec], output: OutputSpec, *, max_pixels: int
) -> list[Rendition]:
    """Every rendition in `specs` (in that order) from one decode; PermanentError for a bad input."""
    if not data:
        raise PermanentError(ErrorType.EMPTY_OBJECT, "the object is empty (0 bytes)")
    _check_webp_canvas(data, max_pixels)
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own bomb guard, matched to ours (it raises at twice this)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        img = _open(data)
        try:
            width, height = img.size
            if width * height > max_pixels:
                raise PermanentError(
                    ErrorType.TOO_MANY_PIXELS,
                    f"{width}x{height} is {width * height:,} pixels, over the limit of {max_pixels:,}",
                )
            icc = img.info.get("icc_profile")
            if img.format in _JPEG_FORMATS:  # the DCT scale is chosen before decoding, from the header
                orientation = _orientation(img)
                targets, stored_largest = _plan(specs, (width, height), orientation)
                img.draft(None, stored_largest)
                _load(img, data)
            else:  # some decoders apply orientation themselves: what is left to do is known after loading
                _load(img, data)
                orientation = _orientation(img)
                targets, stored_largest = _plan(specs, img.size, orientation)
            work = _normalise_mode(img)
        except BaseException:
            img.close()
            raise
    if work is not img:
        img.close()  # frees the decoded full-size pixels as soon as a converted copy exists
    del img
    # Handed over in a list that _render empties, so the full-size image dies with its first resize.
    return _render([work], specs, targets, stored_largest, orientation, icc, output)


def _plan(
    specs: Sequence[RenditionSpec], stored: tuple[int, int], orientation: int
) -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    """Each rendition's displayed size, and the largest one's size in stored (pre-orientation) pixels."""
    turned = orientation in (5, 6, 7, 8)
    displayed = (stored[1], stored[0]) if turned else stored
    targets = {spec.name: fit(displayed, (spec.width, spec.height)) for spec in specs}
    largest = max(targets.values(), key=lambda size: size[0] * size[1])
    return targets, ((largest[1], largest[0]) if turned else largest)


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The size of `size` fitted inside `box`, keeping the aspect ratio, never upscaled, never below 1 px."""
    scale = min(box[0] / size[0], box[1] / size[1], 1.0)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _render(
    holder: list[Image.Image],
    specs: Sequence[RenditionSpec],
    targets: dict[str, tuple[int, int]],
    stored_largest: tuple[int, int],
    orientation: int,
    icc: object,
    output: OutputSpec,
) -> list[Rendition]:
    work = holder.pop()
    premultiplied = work.mode in ("LA", "RGBA")
    if premultiplied:  # resampling straight alpha bleeds the colour of transparent pixels into the edges
        work = work.convert("RGBa" if work.mode == "RGBA" else "La")
    base = _resize(work, stored_largest)
    del work
    if premultiplied:
        base = base.convert("RGBA" if base.mode == "RGBa" else "LA")
    base = _to_srgb(base, icc if isinstance(icc, bytes) else None)
    if orientation in _TRANSPOSE:
        base = base.transpose(_TRANSPOSE[orientation])
    base = _for_format(base, output.format)

    made: dict[str, Rendition] = {}
    current = base
    for spec in sorted(specs, key=lambda s: targets[s.name][0] * targets[s.name][1], reverse=True):
        current = _resize(current, targets[spec.name], DERIVED_REDUCING_GAP)
        made[spec.name] = _encode(spec.name, current, output)
    return [made[spec.name] for spec in specs]


def _resize(img: Image.Image, size: tuple[int, int], reducing_gap: float = BASE_REDUCING_GAP) -> Image.Image:
    """An integer box `reduce` for the whole part of the ratio beyond `reducing_gap`, then a Hamming pass.

    Measured on the 12 MP phone photo (1008 x 756 DCT-scaled decode to 768 x 576): Lanczos 14 ms, bicubic
    10 ms, Hamming 6 ms, against 22 ms for the decode itself. Hamming is Pillow's sharper alternative to
    bilinear at the same cost and is antialiased for downscaling, so at these sub-2x ratios it keeps the
    recipe within 1.5x of the decode+encode floor; derived renditions are reduced from already clean pixels.
    """
    if img.size == size:
        return img
    factor = img.width // size[0]
    if factor > 1 and img.size == (size[0] * factor, size[1] * factor) and reducing_gap <= factor:
        return img.reduce(factor)  # an exact integer ratio: the box filter alone lands on the size
    return img.resize(size, RESAMPLE, reducing_gap=reducing_gap)


# ----------------------------------------------------------------------------------------- decoding
def _open(data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise PermanentError(ErrorType.TOO_MANY_PIXELS, str(exc)) from None
    except UnidentifiedImageError:
        raise _unidentified(data) from None
    except PermanentError:
        raise
    except Exception as exc:  # decoders raise anything from SyntaxError to struct.error on hostile headers
        raise _damaged(data, _sniff(data), exc) from None


def _load(img: Image.Image, data: bytes) -> None:
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
        raise _damaged(data, img.format or _sniff(data), exc, img) from None


def _only_trailing_metadata_failed(img: Image.Image, exc: Exception) -> bool:
    """A PNG whose pixels decoded but whose text chunks after IDAT do not (e.g. a zTXt that inflates past
    Pillow's MAX_TEXT_CHUNK): the text is metadata the renditions drop anyway, so the photo is fine.

    Pillow parses those chunks in load_end(), after clearing `tile`; a truncated or corrupt pixel stream
    fails before that, with the tiles still pending.
    """
    pending = getattr(img, "tile", None)
    return img.format == "PNG" and isinstance(exc, ValueError) and pending == [] and "TEXT_CHUNK" in str(exc)


def _orientation(img: Image.Image) -> int:
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


def _normalise_mode(img: Image.Image) -> Image.Image:
    """One of L, LA, RGB, RGBA or CMYK (CMYK stays until its profile can be applied on the small image)."""
    mode = img.mode
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


# ----------------------------------------------------------------------------------------- colour
def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
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


# ----------------------------------------------------------------------------------------- encoding
def _for_format(img: Image.Image, fmt: str) -> Image.Image:
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


def _encode(name: str, img: Image.Image, output: OutputSpec) -> Rendition:
    img.info = {}  # nothing of the source's metadata may reach an output (AVIF falls back to im.info)
    buf = io.BytesIO()
    fmt = output.format
    if fmt == "JPEG":
        img.save(buf, "JPEG", quality=output.quality, optimize=True)
    elif fmt == "WEBP":
        img.save(buf, "WEBP", quality=output.quality, method=WEBP_METHOD)
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


# ----------------------------------------------------------------------------------------- bad input
_UNSUPPORTED_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (0, b"\xff\x4f\xff\x51", "JPEG 2000 codestream"),
    (0, b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
    (0, b"\xff\x0a", "JPEG XL"),
    (0, b"8BPS", "Photoshop"),
    (0, b"qoif", "QOI"),
    (0, b"DDS ", "DirectDraw Surface"),
    (0, b"v/1\x01", "OpenEXR"),
    (0, b"#?RADIANCE", "Radiance HDR"),
    (0, b"\x00\x00\x01\x00", "Windows icon"),
    (0, b"icns", "Apple icon"),
)
_ISOBMFF_BRANDS = {
    b"avif": "AVIF",
    b"avis": "AVIF",
    b"heic": "HEIF",
    b"heix": "HEIF",
    b"heim": "HEIF",
    b"heis": "HEIF",
    b"hevc": "HEIF",
    b"hevx": "HEIF",
    b"mif1": "HEIF",
    b"msf1": "HEIF",
}


def _sniff(data: bytes) -> str | None:
    """The allow-listed format the bytes claim to be, from their signature alone."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[4:8] == b"ftyp":
        return _ISOBMFF_BRANDS.get(head[8:12])
    return None


def _unsupported(data: bytes) -> str | None:
    for offset, signature, name in _UNSUPPORTED_SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            return name
    if (
        data[:2] == b"BM"
        and len(data) >= 18
        and struct.unpack("<I", data[14:18])[0] in (12, 40, 52, 56, 64, 108, 124)
    ):
        return "BMP"
    if len(data) >= 3 and data[0:1] == b"P" and data[1:2] in b"1234567" and data[2:3] in b" \t\r\n":
        return "Netpbm"
    if data[4:8] == b"ftyp":
        return f"ISO media ({data[8:12].decode('ascii', 'replace').strip()})"
    return None


def _unidentified(data: bytes) -> PermanentError:
    claimed = _sniff(data)
    if claimed is not None:
        return _damaged(data, claimed, None)
    other = _unsupported(data)
    if other is not None:
        return PermanentError(
            ErrorType.UNSUPPORTED_FORMAT, f"{other} is not an accepted format ({', '.join(ALLOWED_FORMATS)})"
        )
    return PermanentError(ErrorType.NOT_AN_IMAGE, "the bytes are not an image in any accepted format")


def _damaged(
    data: bytes, fmt: str | None, exc: BaseException | None, img: Image.Image | None = None
) -> PermanentError:
    detail = f"{type(exc).__name__}: {exc}" if exc is not None else "the decoder does not recognise it"
    if fmt is None:
        return PermanentError(ErrorType.NOT_AN_IMAGE, f"not a decodable image ({detail})")
    if looks_truncated(data, fmt, img) or "truncated" in str(exc).lower():
        return PermanentError(ErrorType.TRUNCATED_IMAGE, f"the {fmt} data ends early ({detail})")
    return PermanentError(ErrorType.CORRUPT_IMAGE, f"the {fmt} data is damaged ({detail})")


def looks_truncated(data: bytes, fmt: str, img: Image.Image | None = None) -> bool:
    """Whether the container's own structure says the file stops before its end (an interrupted upload)."""
    if fmt in _JPEG_FORMATS:
        return b"\xff\xd9" not in data[-64:]
    if fmt == "PNG":
        return b"IEND" not in data[-16:]
    if fmt == "GIF":
        return not data.rstrip(b"\x00").endswith(b";")
    if fmt == "WEBP":
        return len(data) < 12 or struct.unpack("<I", data[4:8])[0] + 8 > len(data)
    if fmt == "TIFF":
        return _tiff_truncated(data, img)
    if fmt in ("AVIF", "HEIF"):
        return _isobmff_truncated(data)
    return False


def _tiff_truncated(data: bytes, img: Image.Image | None) -> bool:
    tags = getattr(img, "tag_v2", None)
    if tags is None:
        return False
    offsets = tags.get(273) or tags.get(324)
    counts = tags.get(279) or tags.get(325)
    if not offsets or not counts:
        return False
    offsets = offsets if isinstance(offsets, tuple) else (offsets,)
    counts = counts if isinstance(counts, tuple) else (counts,)
    return bool(max(int(o) + int(c) for o, c in zip(offsets, counts, strict=False)) > len(data))


def _isobmff_truncated(data: bytes) -> bool:
    """Top-level boxes: a plausible box (printable type) that runs past the end means the file was cut."""
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if not all(32 <= c < 127 for c in kind):
            return False  # noise where a box header should be: damage, not truncation
        if size == 1 and pos + 16 <= len(data):
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        elif size == 0:
            return False  # "to the end of the file"
        if size < 8:
            return False
        if pos + size > len(data):
            return True
        pos += size
    return pos < len(data)


def _check_webp_canvas(data: bytes, max_pixels: int) -> None:
    """Pillow's WebP plugin builds its decoder (and canvas) on open, so the canvas size is read here first."""
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
    elif chunk == b"VP8L" and data[20:21] == b"\x2f":
        bits = int.from_bytes(data[21:25], "little")
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    elif chunk == b"VP8 ":
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
    else:
        return
    if width * height > max_pixels:
        raise PermanentError(
            ErrorType.TOO_MANY_PIXELS,
            f"{width}x{height} is {width * height:,} pixels, over the limit of {max_pixels:,}",
        )


def required_draft_scale(size: tuple[int, int], target: tuple[int, int]) -> int:
    """The DCT scale (1, 2, 4 or 8) draft() picks for `target`: exposed so tests can state the fast path."""
    scale = min(size[0] // max(1, target[0]), size[1] // max(1, target[1]))
    return next(s for s in (8, 4, 2, 1) if scale >= s)
