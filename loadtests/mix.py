"""The fixture mix an uploader draws from: which photos users send and in what shares.

Given as `name=share,...` over fixture names of fixtures.generate (or a preset name). Shares must sum to 1 so
a mix means the same thing in every report; a typo in a name or a share that does not add up is refused
before the load starts, naming what to fix.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from fixtures.generate import BY_NAME

# Phones upload mostly 12 MP JPEGs and HEICs; the rest spans 0.3-24 MP, PNG screenshots and a few bad files.
PRESETS: Final[dict[str, dict[str, float]]] = {
    "default": {
        "jpeg-phone-12mp": 0.35,
        "heic": 0.15,
        "jpeg-2mp": 0.15,
        "jpeg-0.3mp": 0.10,
        "jpeg-24mp": 0.05,
        "jpeg-progressive": 0.04,
        "png-rgb": 0.05,
        "png-rgba": 0.03,
        "webp": 0.02,
        "jpeg-truncated": 0.02,
        "random-bytes-jpg": 0.02,
        "text-png": 0.02,
    },
    # Small, fast files only: the smoke test's mix (still one bad file in eight).
    "smoke": {
        "jpeg-0.3mp": 0.5,
        "jpeg-orientation-3": 0.25,
        "png-palette-transparent": 0.125,
        "text-png": 0.125,
    },
}
TOLERANCE: Final = 1e-6


class MixError(ValueError):
    """The mix names an unknown fixture, has a negative share, or does not sum to 1."""


@dataclass(frozen=True, slots=True)
class FixtureMix:
    shares: Mapping[str, float]

    @property
    def names(self) -> list[str]:
        return list(self.shares)

    def expected(self, name: str) -> str:
        """The outcome the pipeline owes this fixture (the manifest's `expected`)."""
        return BY_NAME[name].expected

    def bad_share(self) -> float:
        return sum(share for name, share in self.shares.items() if BY_NAME[name].expected != "processed")

    def choose(self, rng: random.Random) -> str:
        return rng.choices(self.names, weights=list(self.shares.values()))[0]


def validate(shares: Mapping[str, float]) -> FixtureMix:
    unknown = [name for name in shares if name not in BY_NAME]
    if unknown:
        raise MixError(
            f"unknown fixture(s) in the mix: {', '.join(unknown)}; known: {', '.join(sorted(BY_NAME))}"
        )
    negative = [f"{name}={share}" for name, share in shares.items() if share < 0 or not math.isfinite(share)]
    if negative:
        raise MixError(f"shares must be finite and >= 0: {', '.join(negative)}")
    skipped = [name for name in shares if BY_NAME[name].expected == "skipped"]
    if skipped:
        raise MixError(f"fixture(s) the pipeline skips cannot be accounted for: {', '.join(skipped)}")
    total = sum(shares.values())
    if not shares or abs(total - 1.0) > TOLERANCE:
        raise MixError(f"the mix's shares sum to {total:.6g}, not 1: adjust them so they add up to exactly 1")
    return FixtureMix(dict(shares))


def parse(text: str) -> FixtureMix:
    """A preset name, or `name=share,name=share,...`."""
    text = text.strip()
    if text in PRESETS:
        return validate(PRESETS[text])
    shares: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise MixError(
                f"{part!r} is not name=share; use a preset ({', '.join(PRESETS)}) or name=share,name=share"
            )
        try:
            shares[name.strip()] = shares.get(name.strip(), 0.0) + float(value)
        except ValueError:
            raise MixError(f"share {value!r} of {name.strip()!r} is not a number") from None
    return validate(shares)
