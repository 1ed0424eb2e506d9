"""Uploads against renditions: which photos lack renditions, carry old ones, or left renditions behind.

Pure functions over listings and rendition metadata, so the rules are specified without S3. A photo is judged
by which of its rendition keys exist (from a listing) and by what one existing rendition says made it (a HEAD:
the settings fingerprint, the source version and the sequencer). One HEAD per photo is enough because the
function writes every rendition of an event with the same metadata; a listing gives none of it.

The categories, in the order they are decided:
- missing: an upload without all of its rendition keys (a lost event, a failed run, a new rendition size);
- outdated: every key exists but was made from another version of the upload (two writes to one key that
  yielded one event, or the newer version's event was lost);
- stale: made from this version with other settings (another fingerprint, or none recorded);
- current: nothing to do.
An upload without any rendition whose version carries the function's rejection tag (handler/rejection.py) is
`rejected`, not missing: it has no renditions by design, and sending it again would only earn another
rejection notice. A photo with some renditions is judged by them whatever its tags say. An upload newer than
the grace cut-off is `pending` instead of any drift: its event may still be on its way (S3 delivers within
seconds, sometimes a minute or more). Orphans are stored renditions no upload expects: the
renditions of a deleted upload, or of a rendition or format no longer configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

ExpectedKeys = Callable[[str], tuple[str, ...]]
EXAMPLES: Final = 5  # examples per category in a report: enough to look at, short enough to read


class PhotoStatus(StrEnum):
    CURRENT = "current"
    MISSING = "missing"
    OUTDATED = "outdated"
    STALE = "stale"
    PENDING = "pending"
    REJECTED = "rejected"


DRIFT_STATUSES: Final = (PhotoStatus.MISSING, PhotoStatus.OUTDATED, PhotoStatus.STALE)


@dataclass(frozen=True, slots=True)
class Listed:
    """One object as a listing returns it (an upload's current version, or a rendition)."""

    key: str
    etag: str
    size: int
    last_modified: datetime
    version_id: str | None = None


@dataclass(frozen=True, slots=True)
class Made:
    """What a rendition's metadata says made it; None where the rendition records nothing."""

    fingerprint: str | None
    sequencer: str | None
    version_id: str | None


@dataclass(frozen=True, slots=True)
class PhotoState:
    upload: Listed
    status: PhotoStatus
    made: Made | None  # None when no rendition of the photo was looked at
    rejection: str | None = None  # the ErrorType its rejection tag names, when rejected

    @property
    def sequencer(self) -> str | None:
        """The sequencer a reprocess message carries: the stored one when the renditions come from this very
        upload, so a rewrite keeps the order it had. Renditions of another version say nothing of this one's
        order: the message then carries none, and the guard replaces them as another upload's."""
        if self.made is None or from_other_version(self.upload, self.made):
            return None
        return self.made.sequencer


@dataclass(frozen=True, slots=True)
class Drift:
    photos: tuple[PhotoState, ...]
    orphans: tuple[Listed, ...]

    def having(self, *statuses: PhotoStatus) -> tuple[PhotoState, ...]:
        return tuple(photo for photo in self.photos if photo.status in statuses)

    @property
    def found(self) -> bool:
        return bool(self.orphans or self.having(*DRIFT_STATUSES))

    def counts(self) -> dict[str, int]:
        counts = {str(status): 0 for status in PhotoStatus}
        for photo in self.photos:
            counts[photo.status] += 1
        return {"uploads": len(self.photos), **counts, "orphans": len(self.orphans)}

    def examples(self, limit: int = EXAMPLES) -> dict[str, list[str]]:
        shown = {
            str(s): [p.upload.key for p in self.having(s)][:limit]
            for s in (*DRIFT_STATUSES, PhotoStatus.PENDING, PhotoStatus.REJECTED)
        }
        return {**shown, "orphans": [orphan.key for orphan in self.orphans][:limit]}

    def rejections(self) -> dict[str, int]:
        """Rejected photos per ErrorType."""
        counts: dict[str, int] = {}
        for photo in self.having(PhotoStatus.REJECTED):
            counts[photo.rejection or ""] = counts.get(photo.rejection or "", 0) + 1
        return dict(sorted(counts.items()))

    def to_json(self, limit: int = EXAMPLES) -> dict[str, Any]:
        return {
            "drift": self.found,
            "counts": self.counts(),
            "examples": self.examples(limit),
            "rejections": self.rejections(),
        }


def probe_targets(uploads: Iterable[Listed], stored: Set[str], expected: ExpectedKeys) -> dict[str, str]:
    """Upload key -> the rendition key whose metadata speaks for the photo: its first expected key that
    exists. Uploads with no rendition at all need no look."""
    targets: dict[str, str] = {}
    for upload in uploads:
        present = [key for key in expected(upload.key) if key in stored]
        if present:
            targets[upload.key] = present[0]
    return targets


def unrendered(uploads: Iterable[Listed], stored: Set[str], expected: ExpectedKeys) -> list[Listed]:
    """The uploads without any rendition: the only ones whose rejection tag is worth reading."""
    return [upload for upload in uploads if not any(key in stored for key in expected(upload.key))]


def from_other_version(upload: Listed, made: Made) -> bool:
    """Only two known version ids can tell; an unversioned bucket or an older rendition says nothing."""
    return bool(made.version_id and upload.version_id and made.version_id != upload.version_id)


def judge(
    upload: Listed,
    stored: Set[str],
    expected: ExpectedKeys,
    made: Made | None,
    fingerprint: str,
    rejection: str | None = None,
) -> PhotoStatus:
    """One photo's status, without the grace period (see `compare`). `rejection` is the ErrorType the
    upload's rejection tag names, if it carries one."""
    keys = expected(upload.key)
    if rejection is not None and not any(key in stored for key in keys):
        return PhotoStatus.REJECTED
    if made is None or not all(key in stored for key in keys):
        return PhotoStatus.MISSING
    if from_other_version(upload, made):
        return PhotoStatus.OUTDATED
    if made.fingerprint != fingerprint:
        return PhotoStatus.STALE
    return PhotoStatus.CURRENT


def compare(
    uploads: Iterable[Listed],
    renditions: Iterable[Listed],
    expected: ExpectedKeys,
    made: Mapping[str, Made],
    fingerprint: str,
    pending_after: datetime | None = None,
    rejected: Mapping[str, str] | None = None,
) -> Drift:
    """Every upload judged, and the renditions no upload expects.

    `made` holds, per upload key, the metadata of its probe rendition (see `probe_targets`); an upload absent
    from it has no rendition that could be read. `rejected` holds, per upload key, the ErrorType its
    rejection tag names (read for the `unrendered` uploads). Uploads last modified after `pending_after` are
    pending unless current or rejected: the tag is the function's verdict, no event is still owed.
    `renditions` should be listed before `uploads`: a rendition then always belongs to an
    upload that existed when the uploads were listed, or to none."""
    stored_objects = list(renditions)
    stored = {item.key for item in stored_objects}
    wanted: set[str] = set()
    photos = []
    for upload in sorted(uploads, key=lambda item: item.key):
        keys = expected(upload.key)
        wanted.update(keys)
        rejection = (rejected or {}).get(upload.key)
        status = judge(upload, stored, expected, made.get(upload.key), fingerprint, rejection)
        if status in DRIFT_STATUSES and pending_after and upload.last_modified > pending_after:
            status = PhotoStatus.PENDING
        if status is not PhotoStatus.REJECTED:
            rejection = None
        photos.append(PhotoState(upload, status, made.get(upload.key), rejection))
    orphans = tuple(sorted((item for item in stored_objects if item.key not in wanted), key=lambda i: i.key))
    return Drift(tuple(photos), orphans)
