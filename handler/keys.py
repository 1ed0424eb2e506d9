"""Where renditions live: `<rendition>/<source key without extension>.<extension>`.

Keeping the source key's path means one prefix listing finds every rendition of an album, and the output
extension follows the output format, not the upload's name.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from handler.constants import OUTPUT_FORMAT_BY_NAME

if TYPE_CHECKING:
    from handler.config import Settings

# S3's limit on the UTF-8 length of a key.
MAX_KEY_BYTES = 1024


def _normalise(fmt: str) -> str:
    name = fmt.upper()
    if name == "JPG":
        name = "JPEG"
    if name not in OUTPUT_FORMAT_BY_NAME:
        raise ValueError(f"unknown output format {fmt!r}; allowed: {', '.join(OUTPUT_FORMAT_BY_NAME)}")
    return name


def extension_for(fmt: str) -> str:
    return OUTPUT_FORMAT_BY_NAME[_normalise(fmt)].extension


def content_type_for(fmt: str) -> str:
    return OUTPUT_FORMAT_BY_NAME[_normalise(fmt)].content_type


def rendition_key(rendition: str, source_key: str, extension: str) -> str:
    """Only the last path segment's extension is dropped, so `a.b/c` keeps its directory name whole."""
    stem, _ = posixpath.splitext(source_key)
    if not stem or stem.endswith("/"):
        stem = source_key  # ".hidden" or "dir/.hidden": the dot is the name, not an extension
    return f"{rendition}/{stem}.{extension.lstrip('.')}"


def rendition_keys(settings: Settings, source_key: str) -> tuple[str, ...]:
    """Every rendition key of one upload: each rendition in each output format, in the settings' order."""
    return tuple(
        rendition_key(spec.name, source_key, extension_for(fmt))
        for spec in settings.renditions
        for fmt in settings.output_formats
    )


def key_fits(key: str) -> bool:
    return len(key.encode("utf-8")) <= MAX_KEY_BYTES
