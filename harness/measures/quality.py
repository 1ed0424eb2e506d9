"""How close a rendition is to a careful reference: the measures behind the quality gates and the benchmark.

The reference is what a careful person does with unlimited time (DESIGN.md, "Quality contract"): full decode,
exact EXIF transpose, the embedded ICC profile to sRGB, transparency on white, LANCZOS in float straight from
the full image to the rendition's size, and no encoding. A rendition is then judged by

- SSIM (Wang et al. 2004: Gaussian window, sigma 1.5, on all three colour channels) and PSNR against it,
- colour: mean CIEDE2000 between low-passed copies (a difference under about 1 is not noticeable; the low pass
  keeps detail and JPEG noise out of a colour figure),
- aliasing, on the analytic charts of `fixtures.detail`: where the chart holds frequencies beyond the output's
  Nyquist limit, the correct rendering is flat grey, so whatever deviates from it there is alias (zone plate:
  RMS grey levels; stripes: the surviving fraction of the stripes' contrast).

SSIM, CIEDE2000 and the Gaussian filter are scikit-image's, not re-implemented here.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageCms, ImageOps

from fixtures.detail import BY_NAME, GREY, STRIPE_PERIODS, detail_bytes, zone_plate_k
from handler.constants import RenditionSpec
from handler.imaging import fit

FloatImage = npt.NDArray[np.float32]

ALIAS_FREQUENCY = 0.7
"""Cycles per output pixel above which a chart must render flat: past the output's Nyquist limit (0.5) and
past the transition band of a Lanczos-3 filter, so that the reference itself is judged, not its roll-off."""
SSIM_MARGIN = 0.002
"""Gate: every rendition's SSIM is at least the naive recipe's (at the same JPEG quality) minus this."""
ALIAS_FACTOR = 2.0
"""Gate: zone-plate alias energy is at most this multiple of the reference's."""
JND_DELTA_E = 1.0
"""Gate: mean CIEDE2000 of the low-passed colour against the reference: about one just-noticeable step."""
_EDGE = 8  # output pixels left out at the charts' borders and at the stripes' seam (filter support)
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True, slots=True)
class Scores:
    """One rendition against the reference of the same size."""

    ssim: float
    psnr: float
    delta_e: float

    def as_dict(self) -> dict[str, float]:
        return {"ssim": self.ssim, "psnr": self.psnr, "delta_e": self.delta_e}


# ----------------------------------------------------------------------------------------- the reference
def reference_source(data: bytes) -> Image.Image:
    """The upload decoded in full, upright, in sRGB, transparency on white: the start of every reference."""
    img = Image.open(io.BytesIO(data))
    img.load()
    icc = img.info.get("icc_profile")
    upright = ImageOps.exif_transpose(img)
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        ground = Image.new("RGB", rgba.size, (255, 255, 255))
        ground.paste(rgba, mask=rgba.getchannel("A"))
        upright = ground
    if icc and upright.mode in ("RGB", "CMYK"):
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        upright = (
            ImageCms.profileToProfile(
                upright, source, _SRGB, outputMode="RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
            )
            or upright
        )
    return upright.convert("RGB")


def reference(source: Image.Image, size: tuple[int, int]) -> FloatImage:
    """LANCZOS in float (each channel in Pillow's 32-bit float mode) from the full image to `size`."""
    channels = [band.convert("F").resize(size, Image.Resampling.LANCZOS) for band in source.split()]
    return np.stack([np.asarray(c, dtype=np.float32) for c in channels], axis=2)


def pixels(data_or_image: bytes | Image.Image) -> FloatImage:
    """A rendition (encoded bytes or a decoded image) as float RGB, transparency on white."""
    img = Image.open(io.BytesIO(data_or_image)) if isinstance(data_or_image, bytes) else data_or_image
    if img.mode in ("RGBA", "LA"):
        rgba = img.convert("RGBA")
        ground = Image.new("RGB", rgba.size, (255, 255, 255))
        ground.paste(rgba, mask=rgba.getchannel("A"))
        img = ground
    return np.asarray(img.convert("RGB"), dtype=np.float32)


def naive_renditions(data: bytes, specs: Sequence[RenditionSpec], quality: int) -> dict[str, bytes]:
    """What most tutorials do: full decode, EXIF transpose, LANCZOS from the full image to each box, JPEG."""
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    out = {}
    for spec in specs:
        buffer = io.BytesIO()
        img.resize(fit(img.size, (spec.width, spec.height)), Image.Resampling.LANCZOS).save(
            buffer, "JPEG", quality=quality, optimize=True
        )
        out[spec.name] = buffer.getvalue()
    return out


# ----------------------------------------------------------------------------------------- the measures
def score(rendition: FloatImage, ref: FloatImage) -> Scores:
    if rendition.shape != ref.shape:
        got, want = f"{rendition.shape[1]}x{rendition.shape[0]}", f"{ref.shape[1]}x{ref.shape[0]}"
        raise ValueError(f"the rendition is {got}, the reference {want}")
    return Scores(ssim(rendition, ref), psnr(rendition, ref), delta_e(rendition, ref))


def ssim(a: FloatImage, b: FloatImage) -> float:
    from skimage.metrics import structural_similarity

    value: Any = structural_similarity(
        a, b, channel_axis=2, data_range=255.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    return float(value)


def psnr(a: FloatImage, b: FloatImage) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def delta_e(a: FloatImage, b: FloatImage, sigma: float = 2.0) -> float:
    """Mean CIEDE2000 between the two images low-passed by a Gaussian of `sigma` output pixels."""
    from skimage.color import deltaE_ciede2000, rgb2lab
    from skimage.filters import gaussian

    def lab(img: FloatImage) -> Any:
        return rgb2lab(gaussian(np.clip(img, 0, 255) / 255.0, sigma=sigma, channel_axis=2))

    return float(np.mean(deltaE_ciede2000(lab(a), lab(b))))


def zone_plate_alias(rendition: FloatImage, source_size: tuple[int, int]) -> float:
    """RMS grey levels away from flat grey where the zone plate's frequency is beyond ALIAS_FREQUENCY."""
    mask = _zone_plate_alias_mask(rendition.shape[1], rendition.shape[0], source_size)
    if not mask.any():
        raise ValueError("the rendition keeps every frequency of the zone plate: nothing can alias")
    luma = rendition.mean(axis=2)
    return float(np.sqrt(np.mean((luma[mask] - GREY) ** 2)))


def _zone_plate_alias_mask(width: int, height: int, source_size: tuple[int, int]) -> npt.NDArray[np.bool_]:
    src_w, src_h = source_size
    scale_x, scale_y = width / src_w, height / src_h
    k = zone_plate_k(src_w, src_h)
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    x = (u + 0.5) / scale_x - 0.5 - (src_w - 1) / 2  # the source position each output pixel samples
    y = (v + 0.5) / scale_y - 0.5 - (src_h - 1) / 2
    source_frequency = k * np.hypot(x, y) / math.pi  # cycles per source pixel
    output_frequency = source_frequency / min(scale_x, scale_y)
    inside = np.zeros((height, width), dtype=bool)
    inside[_EDGE:-_EDGE, _EDGE:-_EDGE] = True
    mask: npt.NDArray[np.bool_] = (output_frequency > ALIAS_FREQUENCY) & inside
    return mask


def stripe_contrast(rendition: FloatImage) -> dict[int, float]:
    """For each stripe period: the standard deviation left in its half, as a fraction of the stripes' own."""
    luma = rendition.mean(axis=2)
    half = luma.shape[1] // 2
    halves = {
        STRIPE_PERIODS[0]: luma[_EDGE:-_EDGE, _EDGE : half - _EDGE],
        STRIPE_PERIODS[1]: luma[_EDGE:-_EDGE, half + _EDGE : -_EDGE],
    }
    return {period: float(part.std() / GREY) for period, part in halves.items()}


def mean_of(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else math.nan


# ----------------------------------------------------------------------------------------- one fixture
@dataclass(frozen=True, slots=True)
class RenditionQuality:
    """Every figure of one rendition of one fixture by one method."""

    name: str
    size: tuple[int, int]
    bytes: int
    scores: Scores
    alias: float | None = None
    """Zone plate only: RMS grey levels of alias (the reference's own is in FixtureReference)."""
    stripes: dict[int, float] = field(default_factory=dict)
    """Stripes only: surviving fraction of the contrast, per period."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": list(self.size),
            "bytes": self.bytes,
            **self.scores.as_dict(),
            "alias": self.alias,
            "stripes": {str(k): v for k, v in self.stripes.items()},
        }


@dataclass(slots=True)
class FixtureReference:
    """The references of one fixture's renditions, computed once and reused for every method."""

    fixture: str
    kind: str
    source_size: tuple[int, int]
    images: dict[str, FloatImage]
    alias: dict[str, float] = field(default_factory=dict)
    stripes: dict[str, dict[int, float]] = field(default_factory=dict)

    @classmethod
    def build(cls, fixture: str, specs: Sequence[RenditionSpec]) -> FixtureReference:
        source = reference_source(detail_bytes(fixture))
        kind = BY_NAME[fixture].kind
        images = {s.name: reference(source, fit(source.size, (s.width, s.height))) for s in specs}
        ref = cls(fixture, kind, source.size, images)
        if kind == "zoneplate":
            ref.alias = {name: zone_plate_alias(img, source.size) for name, img in images.items()}
        if kind == "stripes":
            ref.stripes = {name: stripe_contrast(img) for name, img in images.items()}
        return ref

    def judge(self, renditions: Mapping[str, bytes]) -> dict[str, RenditionQuality]:
        out = {}
        for name, data in renditions.items():
            img = pixels(data)
            out[name] = RenditionQuality(
                name,
                (img.shape[1], img.shape[0]),
                len(data),
                score(img, self.images[name]),
                zone_plate_alias(img, self.source_size) if self.kind == "zoneplate" else None,
                stripe_contrast(img) if self.kind == "stripes" else {},
            )
        return out


def ssim_failures(
    ref: FixtureReference,
    candidate: Mapping[str, RenditionQuality],
    naive: Mapping[str, RenditionQuality],
) -> list[str]:
    """Renditions whose SSIM falls below the naive recipe's minus SSIM_MARGIN, as sentences."""
    return [
        f"{ref.fixture} {name}: SSIM {got.scores.ssim:.4f} is below the naive recipe's "
        f"{naive[name].scores.ssim:.4f} - {SSIM_MARGIN}"
        for name, got in candidate.items()
        if got.scores.ssim < naive[name].scores.ssim - SSIM_MARGIN
    ]


def colour_failures(ref: FixtureReference, candidate: Mapping[str, RenditionQuality]) -> list[str]:
    """Renditions whose colour is more than JND_DELTA_E (mean CIEDE2000, low-passed) from the reference."""
    return [
        f"{ref.fixture} {name}: colour is {got.scores.delta_e:.2f} CIEDE2000 from the reference "
        f"(more than {JND_DELTA_E})"
        for name, got in candidate.items()
        if got.scores.delta_e > JND_DELTA_E
    ]


def alias_failures(ref: FixtureReference, candidate: Mapping[str, RenditionQuality]) -> list[str]:
    """Zone-plate renditions whose alias energy is over ALIAS_FACTOR times the reference's, as sentences."""
    return [
        f"{ref.fixture} {name}: zone-plate alias {got.alias:.2f} grey levels RMS is over "
        f"{ALIAS_FACTOR}x the reference's {ref.alias[name]:.2f}"
        for name, got in candidate.items()
        if got.alias is not None and got.alias > ALIAS_FACTOR * ref.alias[name]
    ]
