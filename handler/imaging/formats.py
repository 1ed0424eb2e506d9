"""Which formats reach a decoder, and the HEIF opener that makes phone photos one of them."""

from __future__ import annotations

from PIL import AvifImagePlugin

from handler.imaging.limits import DECODER_THREADS

try:  # HEIC/HEIF (phone photos) decode through pillow-heif's libheif; without it they are UnsupportedFormat.
    import pillow_heif

    # Depth maps and auxiliary images are never used: libheif need not index them.
    pillow_heif.register_heif_opener(decode_threads=DECODER_THREADS, depth_images=False, aux_images=False)
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - the handler extra always installs it
    HEIF_AVAILABLE = False

AvifImagePlugin.DEFAULT_MAX_THREADS = DECODER_THREADS

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
