"""Where renditions live: `<rendition>/<source key without extension>.<extension>`.

Keeping the source key's path means one prefix listing finds every rendition of an album, and the output
extension follows the output format, not the upload's name.
"""

from __future__ import annotations

import posixpath

_EXTENSIONS = {"JPEG": "jpg", "WEBP": "webp", "AVIF": "avif"}
_CONTENT_TYPES = {"JPEG": "image/jpeg", "WEBP": "image/webp", "AVIF": "image/avif"}

# S3's limit on the UTF-8 length of a key.
MAX_KEY_BYTES = 1024


def _normalise(fmt: str) -> str:
    name = fmt.upper()
    if name == "JPG":
        name = "JPEG"
    if name not in _EXTENSIONS:
        raise ValueError(f"unknown output format {fmt!r}; allowed: {', '.join(_EXTENSIONS)}")
    return name


def extension_for(fmt: str) -> str:
    return _EXTENSIONS[_normalise(fmt)]


def content_type_for(fmt: str) -> str:
    return _CONTENT_TYPES[_normalise(fmt)]


def rendition_key(rendition: str, source_key: str, extension: str) -> str:
    """Only the last path segment's extension is dropped, so `a.b/c` keeps its directory name whole."""
    stem, _ = posixpath.splitext(source_key)
    if not stem or stem.endswith("/"):
        stem = source_key  # ".hidden" or "dir/.hidden": the dot is the name, not an extension
    return f"{rendition}/{stem}.{extension.lstrip('.')}"


def key_fits(key: str) -> bool:
    return len(key.encode("utf-8")) <= MAX_KEY_BYTES
