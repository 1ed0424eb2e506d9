"""Deletion propagation: a photo has renditions exactly while its upload exists.

The rule, written once (tests/handler/test_deletion.py specifies it, the README repeats it):

1. A removal (`ObjectRemoved:Delete`, or `ObjectRemoved:DeleteMarkerCreated` in the versioned upload bucket)
   deletes a rendition of its key when
   - the upload key has no current object (HEAD without a version answers 404) and the rendition's stored
     sequencer is not newer than the removal's (an unknown sequencer on either side never blocks), or
   - the removal permanently deleted the very version the rendition was made from (its `source-version-id`;
     checked with a HEAD of that version, so only a version that no longer exists takes its renditions along).
   Otherwise the rendition is kept: a newer upload of the key wrote it, or the key has a current object again
   (a re-upload) or still (an older version was deleted). A removal that deletes nothing while something is
   kept is skipped as `StaleRemoval`; one that finds nothing left (a duplicate) is harmless. Each delete is
   conditional on the ETag that was checked (If-Match): a rendition rewritten in between is looked at again,
   never deleted blind.
2. A create event writes only while its object is the key's current object. Before the download: no current
   object, or another current version than the event's, is skipped as `ObjectGone` (the removal's own event
   deletes what is left; the newer version's event writes its own renditions). After the writes, the key is
   looked at again: if it has no current object, the upload was removed while it was being processed and its
   removal may have found nothing to delete yet, so the renditions just written are deleted by rule 1 with
   this event's sequencer as the removal's, and the record is skipped as `ObjectGone`. A retry of an attempt
   that failed before that look (a write or the look itself failed) does the same when it finds the key
   without a current object, also when it is otherwise a duplicate. A newer version being current after the
   write needs nothing: its own event replaces the renditions.

S3 is strongly consistent, so a HEAD without a version sees every PUT and DELETE that finished before it;
together with the sequencer guard of the writes (handler/storage.py) no order of events leaves renditions for
a removed photo or removes those of a live one. With deletion propagation disabled (for those who archive)
none of this runs: removals are not delivered, and a create is rendered from its version even if deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from handler.errors import error_code, is_gone
from handler.events import ObjectEvent, compare_sequencers
from handler.storage import Existing, Storage, _in_parallel

if TYPE_CHECKING:  # the stubs are a lint dependency; the runtime needs none of this
    from mypy_boto3_s3 import S3Client

# The removals S3 sends for `s3:ObjectRemoved:*`; only the first deletes a version for good.
PERMANENT_DELETE = "ObjectRemoved:Delete"
REMOVAL_EVENTS = frozenset({PERMANENT_DELETE, "ObjectRemoved:DeleteMarkerCreated"})

_CONDITIONAL_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class Current:
    """The upload key's current object, as a HEAD without a version sees it."""

    exists: bool
    version_id: str | None = None


@dataclass(frozen=True, slots=True)
class RemovalResult:
    deleted: tuple[str, ...]
    kept: tuple[str, ...]  # renditions of a live upload or of a newer one


def is_removal(event: ObjectEvent) -> bool:
    return event.event_name in REMOVAL_EVENTS


def current_object(s3: S3Client, bucket: str, key: str) -> Current:
    """HEAD without a version: 404 (no object, or a delete marker on top) means the upload is removed."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_gone(exc):
            return Current(exists=False)
        raise  # a 403 is a denial, not an absence: retried
    version = head.get("VersionId")
    return Current(exists=True, version_id=version if version and version != "null" else None)


def is_current(event: ObjectEvent, current: Current) -> bool:
    """Rule 2: the event's object is the key's current object (an event without a version cannot tell)."""
    if not current.exists:
        return False
    return event.version_id is None or current.version_id is None or current.version_id == event.version_id


def removed_version(s3: S3Client, event: ObjectEvent) -> str | None:
    """The version a removal deleted for good, checked with a HEAD of it; None for a delete marker, a removal
    without a version, or a version that still exists (S3 answers a delete marker's version with 405)."""
    if event.event_name != PERMANENT_DELETE or not event.version_id:
        return None
    try:
        s3.head_object(Bucket=event.bucket, Key=event.key, VersionId=event.version_id)
    except ClientError as exc:
        if is_gone(exc) or error_code(exc) == "400":  # 400: no such version id at all
            return event.version_id
        if error_code(exc) == "405":
            return None
        raise
    return None


def decide(
    event: ObjectEvent, upload_exists: bool, found: Existing | None, removed_version: str | None
) -> str:
    """Rule 1 for one rendition: "absent", "delete" or "keep". Pure. `removed_version` is the version the
    removal deleted for good (checked), or None."""
    if found is None:
        return "absent"
    if removed_version is not None and found.source_version == removed_version:
        return "delete"  # the version it was made from no longer exists
    if upload_exists:
        return "keep"
    if event.sequencer and found.sequencer and compare_sequencers(found.sequencer, event.sequencer) > 0:
        return "keep"
    return "delete"


def remove_renditions(
    storage: Storage,
    event: ObjectEvent,
    keys: Sequence[str],
    upload_exists: bool,
    removed_version: str | None = None,
) -> RemovalResult:
    """Apply rule 1 to every rendition key of one upload, side by side."""
    outcomes = _in_parallel(
        lambda key: _remove_one(storage, event, key, upload_exists, removed_version), list(keys)
    )
    return RemovalResult(
        deleted=tuple(key for key, outcome in zip(keys, outcomes, strict=True) if outcome == "delete"),
        kept=tuple(key for key, outcome in zip(keys, outcomes, strict=True) if outcome == "keep"),
    )


def _remove_one(
    storage: Storage, event: ObjectEvent, key: str, upload_exists: bool, removed_version: str | None
) -> str:
    for _ in range(_CONDITIONAL_ATTEMPTS):
        found = storage.existing(key)
        verdict = decide(event, upload_exists, found, removed_version)
        if verdict != "delete" or found is None:
            return verdict
        if storage.delete_if_unchanged(key, found.etag):
            return "delete"
        # PreconditionFailed: another invocation rewrote it in between; look again and decide again
    raise ClientError(
        {"Error": {"Code": "ConditionalRequestConflict", "Message": f"{key} kept changing"}}, "DeleteObject"
    )
