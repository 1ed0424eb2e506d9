"""A photo's life after its upload in the load mix: some are deleted, some uploaded again to the same key.

Pure: which photos meet which fate, and what the read-back has to show for them. A deleted photo must end
with no rendition left (a person who deletes a photo must not have it served); a photo uploaded again must
end with renditions made from its newest upload (the source ETag and version the handler stores on each
rendition), never from the one it replaced.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from handler.config import Settings
from handler.constants import DELETION_PROPAGATION_DISABLED
from handler.storage import META_ETAG, META_VERSION
from harness.contract import StackParameter
from loadtests.accounting import Upload

Fate = Literal["keep", "delete", "reupload"]
KEEP: Fate = "keep"
DELETE: Fate = "delete"
REUPLOAD: Fate = "reupload"


def choose_fate(rng: random.Random, expected: str, *, delete_share: float, reupload_share: float) -> Fate:
    """Only photos owed renditions are deleted or replaced: a rejected file has no renditions to check."""
    if expected != "processed":
        return KEEP
    draw = rng.random()
    if draw < delete_share:
        return DELETE
    if draw < delete_share + reupload_share:
        return REUPLOAD
    return KEEP


def judged_delete_share(settings: Settings, delete_share: float) -> tuple[float, str | None]:
    """The share of photos the run deletes, and why it is not the one asked for: a stack that keeps the
    renditions of removed uploads (for archives) would fail every deletion, so it is not asked to delete."""
    if delete_share > 0 and not settings.deletion_propagation:
        return 0.0, (
            f"no photo deleted: the stack keeps the renditions of removed uploads "
            f"({StackParameter.DELETION_PROPAGATION}={DELETION_PROPAGATION_DISABLED})"
        )
    return delete_share, None


@dataclass(frozen=True, slots=True)
class Deletion:
    """One DELETE of an upload as the uploader saw it (epoch seconds)."""

    key: str
    started: float
    finished: float
    ok: bool
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Deletion:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def made_from(upload: Upload, metadata: Mapping[str, str]) -> bool:
    """Whether a rendition's metadata names `upload` as its source: the same ETag, and the same version where
    both sides know one (S3 events from a bucket without versioning carry none)."""
    if metadata.get(META_ETAG, "").strip('"') != upload.etag.strip('"'):
        return False
    version = metadata.get(META_VERSION, "")
    return not (version and upload.version_id and version != upload.version_id)


def is_fresh(newest: Upload, renditions: Sequence[Mapping[str, str] | None]) -> bool:
    """Every rendition is there (metadata, not None) and made from the newest upload."""
    return bool(renditions) and all(m is not None and made_from(newest, m) for m in renditions)


@dataclass
class LifecycleAccount:
    deleted: int
    leftovers: list[str]
    """Deleted photos with a rendition still there after the pipeline had its time."""
    reuploaded: int
    stale: list[str]
    """Photos uploaded again whose renditions are missing or not made from the newest upload."""
    failures: list[str]
    """DELETEs and second PUTs that S3 refused (the photo's life did not go on)."""

    @property
    def counts(self) -> dict[str, int]:
        return {
            "deleted": self.deleted,
            "leftovers": len(self.leftovers),
            "reuploaded": self.reuploaded,
            "stale": len(self.stale),
            "failed": len(self.failures),
        }

    @property
    def verdicts(self) -> dict[str, bool]:
        """Judged only for what the run did: no deletion, no verdict about deletions."""
        verdicts: dict[str, bool] = {}
        if self.deleted:
            verdicts["no rendition of a deleted photo left"] = not self.leftovers
        if self.reuploaded:
            verdicts["re-uploaded photos' renditions are from the newest upload"] = not self.stale
        if self.failures:
            verdicts["every delete and re-upload accepted"] = False
        return verdicts

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "leftovers": self.leftovers,
            "stale": self.stale,
            "failures": self.failures,
            "verdicts": self.verdicts,
        }


def account_lifecycle(
    deletions: Iterable[Deletion],
    reuploads: Iterable[Upload],
    *,
    present: set[str],
    rendition_keys: Callable[[str], Sequence[str]],
    fresh: Mapping[str, bool],
) -> LifecycleAccount:
    """`present`: every rendition key listed at the end; `fresh`: re-uploaded key -> whether its renditions
    were found made from the newest upload."""
    deleted = [d for d in deletions if d.ok]
    replaced = [u for u in reuploads if u.ok]
    failures = [d.key for d in deletions if not d.ok] + [u.key for u in reuploads if not u.ok]
    leftovers = [d.key for d in deleted if any(k in present for k in rendition_keys(d.key))]
    stale = [u.key for u in replaced if not fresh.get(u.key, False)]
    return LifecycleAccount(len(deleted), leftovers, len(replaced), stale, failures)
