"""Imaging: from the bytes of an upload to encoded renditions, in pure Pillow with no AWS.

The package is split by reason to change: `decode` (untrusted bytes to pixels) with `badinput` (naming what
is wrong), `colour` (to sRGB), `resample` (sizes and filters), `encode` (output formats) and `recipe`, which
puts them in order. Callers use only the names below.
"""

from handler.imaging.encode import OutputSpec, Rendition
from handler.imaging.formats import ALLOWED_FORMATS
from handler.imaging.recipe import RECIPE_VERSION, make_renditions
from handler.imaging.resample import fit

__all__ = ["ALLOWED_FORMATS", "RECIPE_VERSION", "OutputSpec", "Rendition", "fit", "make_renditions"]
