"""What one reconcile pass costs as the photos pile up, and where S3 Inventory should replace the listing.

A pass lists every rendition and every upload (1,000 keys a LIST, one page after the other) and reads one
rendition's metadata per photo (a HEAD, HEAD_WORKERS at a time). S3 Inventory delivers the same listing
daily as files, for a price per object and with no requests to wait on, but without user metadata: the
HEADs stay. The round-trip times are assumptions for a client in the bucket's region, not measurements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from harness.measures.bill import PriceList
from harness.survey import HEAD_WORKERS

KEYS_PER_LIST: Final = 1000  # ListObjectsV2 and ListObjectVersions return at most this many keys a request
LIST_SECONDS: Final = 0.1  # a full page's round trip in-region (assumed)
HEAD_SECONDS: Final = 0.02  # a HEAD's round trip in-region (assumed)
# Longer than this, a listing is better read from yesterday's inventory: a pass that takes hours reports drift
# that has moved on by the time it ends.
LISTING_BUDGET_SECONDS: Final = 3600.0


@dataclass(frozen=True, slots=True)
class SurveyCost:
    photos: int
    keys: int
    lists: int
    heads: int
    list_seconds: float
    head_seconds: float
    usd: float
    inventory_usd: float  # the same listing from S3 Inventory instead of LIST requests

    @property
    def listing_fits(self) -> bool:
        return self.list_seconds <= LISTING_BUDGET_SECONDS

    def to_json(self) -> dict[str, Any]:
        return {
            "photos": self.photos,
            "keys": self.keys,
            "lists": self.lists,
            "heads": self.heads,
            "list_minutes": round(self.list_seconds / 60, 1),
            "head_minutes": round(self.head_seconds / 60, 1),
            "usd": round(self.usd, 2),
            "inventory_usd": round(self.inventory_usd, 4),
            "listing_fits": self.listing_fits,
        }


def survey_cost(photos: int, renditions_per_photo: int, prices: PriceList) -> SurveyCost:
    """One pass over `photos` uploads, each with `renditions_per_photo` rendition keys."""
    keys = photos * (1 + renditions_per_photo)
    lists = -(-keys // KEYS_PER_LIST)
    list_usd = lists * prices["s3_put_per_request"]  # LIST requests are priced as PUTs
    head_usd = photos * prices["s3_get_per_request"]
    return SurveyCost(
        photos=photos,
        keys=keys,
        lists=lists,
        heads=photos,
        list_seconds=lists * LIST_SECONDS,
        head_seconds=photos * HEAD_SECONDS / HEAD_WORKERS,
        usd=list_usd + head_usd,
        inventory_usd=keys * prices["s3_inventory_per_object"],
    )


def listing_limit(renditions_per_photo: int) -> int:
    """The most photos one pass can list within LISTING_BUDGET_SECONDS: where S3 Inventory takes over."""
    lists = int(LISTING_BUDGET_SECONDS / LIST_SECONDS)
    return lists * KEYS_PER_LIST // (1 + renditions_per_photo)
