"""What is wrong with bytes that do not decode: the signature they claim, and whether they were cut short.

A rejection notice is read by a person deciding what to do with a photo, so "the JPEG data ends early" (an
interrupted upload: upload again) is told apart from "damaged" and from "not an image at all".
"""

from __future__ import annotations

import io
import struct
import warnings

from PIL import Image

from handler.errors import ErrorType, PermanentError
from handler.imaging.formats import ALLOWED_FORMATS, JPEG_FORMATS
from handler.imaging.limits import pixel_limit

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


def sniff(data: bytes) -> str | None:
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


def unsupported(data: bytes) -> str | None:
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


def recognised_elsewhere(data: bytes) -> str | None:
    """The name of a format Pillow recognises outside the allow-list (TGA, PCX, EPS, SGI...), or None.

    `Image.open` only parses a header (each plugin's `_open`); pixels are decoded by `load()`, which is never
    called here, so an EPS never reaches Ghostscript and no disallowed decoder touches the data. The plugins
    are registered on this path only, so the rarely needed ones cost nothing at cold start.
    """
    Image.init()
    others = [name for name in Image.OPEN if name not in ALLOWED_FORMATS and name not in JPEG_FORMATS]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data), formats=others) as img:
                return str(img.format) if img.format else None
    except Exception:  # nothing recognises it, or its header is hostile: either way not an accepted image
        return None


def unidentified(data: bytes) -> PermanentError:
    claimed = sniff(data)
    if claimed is not None:
        return damaged(data, claimed, None)
    other = unsupported(data) or recognised_elsewhere(data)
    if other is not None:
        return PermanentError(
            ErrorType.UNSUPPORTED_FORMAT, f"{other} is not an accepted format ({', '.join(ALLOWED_FORMATS)})"
        )
    return PermanentError(ErrorType.NOT_AN_IMAGE, "the bytes are not an image in any accepted format")


def damaged(
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
    if fmt in JPEG_FORMATS:
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


def check_webp_canvas(data: bytes, max_pixels: int) -> None:
    """Pillow's WebP plugin builds its decoder (and canvas) on open, so the canvas size is read here first,
    against the configured limit or the WebP decoder's own (limits.py), whichever is lower."""
    max_pixels = min(max_pixels, pixel_limit("WEBP"))
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
