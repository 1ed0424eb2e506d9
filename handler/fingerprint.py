"""What made a rendition, as one short string stored in its metadata beside the source's sequencer.

Two renditions carry the same fingerprint exactly when the same settings and the same engine would write the
same bytes for the same upload; a settings change is thus visible on every rendition written before it, and
`photopipe reprocess --stale-only` can find and rewrite them. It changes with a rendition's name or box, the
output formats, the quality, Pillow's version (its codecs ship inside its wheels) or the recipe's version
(`handler.imaging.RECIPE_VERSION`); it does not change with the order of the lists, the limits on input, the
bucket or anything else that leaves the output bytes alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import lru_cache

import PIL

from handler.constants import RenditionSpec
from handler.imaging import RECIPE_VERSION

FINGERPRINT_HEX_DIGITS = 16  # 64 bits: settings changes are counted in tens, collisions are not a concern


def settings_fingerprint(renditions: Iterable[RenditionSpec], formats: Iterable[str], quality: int) -> str:
    """The first 16 hex digits of the sha256 of a canonical JSON of what decides a rendition's bytes."""
    return _fingerprint(
        tuple(sorted((r.name, r.width, r.height) for r in renditions)), tuple(sorted(formats)), quality
    )


@lru_cache(maxsize=16)
def _fingerprint(renditions: tuple[tuple[str, int, int], ...], formats: tuple[str, ...], quality: int) -> str:
    canonical = json.dumps(
        {
            "renditions": [list(r) for r in renditions],
            "formats": list(formats),
            "quality": quality,
            "engine": {"pillow": PIL.__version__, "recipe": RECIPE_VERSION},
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:FINGERPRINT_HEX_DIGITS]
