"""From the bytes of an upload to encoded renditions: pure Pillow, no AWS.

Why it is shaped this way: decoding dominates the cost of a photo, so the image is decoded once, JPEGs at the
smallest DCT scale (`draft`) that still leaves the filter a margin over the largest rendition (`resample`);
every smaller rendition is filtered from the largest one's unencoded pixels instead of from the original,
and each rendition is encoded in each output format from the same pixels (resized once where the formats
take the same pixels).
Colour management and orientation run on the already small image.
Untrusted bytes only reach decoders on the allow-list, and only after the header says the pixel count is
within the limit.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from PIL import Image

from handler.constants import RenditionSpec
from handler.errors import ErrorType, PermanentError
from handler.imaging.badinput import check_webp_canvas
from handler.imaging.colour import source_profile, to_srgb
from handler.imaging.decode import TRANSPOSE, load_image, normalise_mode, open_image, orientation_to_apply
from handler.imaging.encode import OutputSpec, Rendition, encode, for_format
from handler.imaging.formats import JPEG_FORMATS
from handler.imaging.resample import draft_request, fit, resize

# Raised whenever a change here, in resample, colour or encode, changes the output of the same input and
# settings: it is part of every rendition's settings fingerprint (handler/fingerprint.py), so the renditions
# written before the change are found stale and can be rewritten by `photopipe reprocess --stale-only`.
RECIPE_VERSION = 1


def make_renditions(
    data: bytes,
    specs: Sequence[RenditionSpec],
    outputs: OutputSpec | Sequence[OutputSpec],
    *,
    max_pixels: int,
) -> list[Rendition]:
    """Every rendition in `specs` in every output format, from one decode; PermanentError for a bad input.

    In `specs` order, and within one rendition in `outputs` order (handler.keys.rendition_keys' order)."""
    if isinstance(outputs, OutputSpec):
        outputs = (outputs,)
    if not data:
        raise PermanentError(ErrorType.EMPTY_OBJECT, "the object is empty (0 bytes)")
    check_webp_canvas(data, max_pixels)
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own bomb guard, matched to ours (it raises at twice this)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        img = open_image(data)
        try:
            width, height = img.size
            if width * height > max_pixels:
                raise PermanentError(
                    ErrorType.TOO_MANY_PIXELS,
                    f"{width}x{height} is {width * height:,} pixels, over the limit of {max_pixels:,}",
                )
            icc = source_profile(img, data)
            if img.format in JPEG_FORMATS:  # the DCT scale is chosen before decoding, from the header
                orientation = orientation_to_apply(img)
                targets, stored_largest = _plan(specs, (width, height), orientation)
                img.draft(None, draft_request(stored_largest))
                load_image(img, data)
            else:  # some decoders apply orientation themselves: what is left to do is known after loading
                load_image(img, data)
                orientation = orientation_to_apply(img)
                targets, stored_largest = _plan(specs, img.size, orientation)
            work = normalise_mode(img)
        except BaseException:
            img.close()
            raise
    if work is not img:
        img.close()  # frees the decoded full-size pixels as soon as a converted copy exists
    del img
    # Handed over in a list that _render empties, so the full-size image dies with its first resize.
    return _render([work], specs, targets, stored_largest, orientation, icc, outputs)


def _plan(
    specs: Sequence[RenditionSpec], stored: tuple[int, int], orientation: int
) -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    """Each rendition's displayed size, and the largest one's size in stored (pre-orientation) pixels."""
    turned = orientation in (5, 6, 7, 8)
    displayed = (stored[1], stored[0]) if turned else stored
    targets = {spec.name: fit(displayed, (spec.width, spec.height)) for spec in specs}
    largest = max(targets.values(), key=lambda size: size[0] * size[1])
    return targets, ((largest[1], largest[0]) if turned else largest)


def _render(
    holder: list[Image.Image],
    specs: Sequence[RenditionSpec],
    targets: dict[str, tuple[int, int]],
    stored_largest: tuple[int, int],
    orientation: int,
    icc: object,
    outputs: Sequence[OutputSpec],
) -> list[Rendition]:
    work = holder.pop()
    base = resize(work, stored_largest)
    del work
    base = to_srgb(base, icc if isinstance(icc, bytes) else None)
    if orientation in TRANSPOSE:
        base = base.transpose(TRANSPOSE[orientation])
    # Where two formats hold the same pixels (RGB in JPEG and WebP) they share one base and one resize.
    bases = {output.format: for_format(base, output.format) for output in outputs}
    del base

    made: dict[tuple[str, str], Rendition] = {}
    for spec in sorted(specs, key=lambda s: targets[s.name][0] * targets[s.name][1], reverse=True):
        # Every rendition is filtered from the largest one's unencoded pixels, never from a smaller one.
        resized: dict[int, Image.Image] = {}
        for output in outputs:
            source = bases[output.format]
            if id(source) not in resized:
                resized[id(source)] = resize(source, targets[spec.name])
            made[spec.name, output.format] = encode(spec.name, resized[id(source)], output)
    return [made[spec.name, output.format] for spec in specs for output in outputs]
