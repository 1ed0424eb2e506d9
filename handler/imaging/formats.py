"""Which formats reach a decoder, and the HEIF opener that makes phone photos one of them."""

from __future__ import annotations

try:  # HEIC/HEIF (phone photos) decode through pillow-heif's libheif; without it they are UnsupportedFormat.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - the handler extra always installs it
    HEIF_AVAILABLE = False

ALLOWED_FORMATS: tuple[str, ...] = (
    "JPEG",
    "PNG",
    "WEBP",
    "GIF",
    "TIFF",
    "AVIF",
    *(("HEIF",) if HEIF_AVAILABLE else ()),
)
JPEG_FORMATS = frozenset({"JPEG", "MPO"})
