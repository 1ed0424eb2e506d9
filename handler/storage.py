"""Reading uploads and writing renditions, with the guard that keeps an old event from undoing a new one.

S3 notifications arrive at least once and in any order. Each rendition records the sequencer of the event
that produced it and the fingerprint of the settings that made it (handler/fingerprint.py). A create event
writes a rendition that does not exist, or whose sequencer is older than the event's; when the sequencers are
equal, or either is unknown, it writes only if the stored fingerprint differs from the current settings' (or,
with no sequencer to go by, if the rendition came from another upload, by version id and ETag). So a duplicate
costs a HEAD per rendition, an older event is skipped as stale, and a reprocess message (which carries the
stored sequencer) rewrites exactly the renditions an earlier setting made. Every write is conditional on the
rendition not having changed since it was checked (If-Match / If-None-Match), so two concurrent invocations
for two versions of one key cannot interleave into the older one winning.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from botocore.exceptions import ClientError

from handler.constants import RENDITION_WRITTEN_AT_METADATA
from handler.errors import ErrorType, PermanentError, error_code, is_gone
from handler.events import ObjectEvent, compare_sequencers
from handler.imaging import Rendition

if TYPE_CHECKING:  # the stubs are a lint dependency; the runtime needs none of this
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")
R = TypeVar("R")

CACHE_CONTROL = "public, max-age=31536000, immutable"
# Rendition metadata keys (x-amz-meta-*). S3 user metadata must be ASCII, so the source key is stored
# percent-encoded (UTF-8, "/" kept).
META_BUCKET = "source-bucket"
META_KEY = "source-key"
META_VERSION = "source-version-id"
META_ETAG = "source-etag"
META_SEQUENCER = "source-sequencer"
# What made the rendition (handler/fingerprint.py): the guard rewrites a rendition of the same event whose
# fingerprint differs from the current settings', so a settings change can be applied by reprocessing.
META_FINGERPRINT = "settings-fingerprint"
META_WIDTH = "width"
META_HEIGHT = "height"
META_WRITTEN_AT = RENDITION_WRITTEN_AT_METADATA  # the only metadata that differs between two runs of an event

_CONDITIONAL_ATTEMPTS = 4


class ObjectGoneError(Exception):
    """The object (or its version, or its bucket) no longer exists: nothing to process."""


class StaleEventError(Exception):
    """A rendition written for a newer event of the same key already exists."""


@dataclass(frozen=True, slots=True)
class Existing:
    etag: str | None  # None only when S3 sent none: the write is then unconditional
    sequencer: str | None
    fingerprint: str | None = None
    source_version: str | None = None  # the upload version it was made from (deletion propagation)
    source_etag: str | None = None  # with source_version, tells two uploads apart when no sequencer can


def rendition_metadata(event: ObjectEvent, rendition: Rendition, fingerprint: str = "") -> dict[str, str]:
    return {
        META_BUCKET: event.bucket,
        META_KEY: quote(event.key, safe="/"),
        META_VERSION: event.version_id or "",
        META_ETAG: (event.etag or "").strip('"'),
        META_SEQUENCER: event.sequencer or "",
        META_FINGERPRINT: fingerprint,
        META_WIDTH: str(rendition.width),
        META_HEIGHT: str(rendition.height),
    }


# "Not looked yet", distinct from None ("looked: nothing there").
_UNSEEN: Any = Existing(etag="<unseen>", sequencer=None)


def written_at(moment: datetime) -> str:
    """META_WRITTEN_AT's value: ISO 8601 in UTC, to the millisecond."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Storage:
    def __init__(
        self,
        s3: S3Client,
        processed_bucket: str,
        clock: Callable[[], datetime] = _utc_now,
        fingerprint: str = "",
    ) -> None:
        self._s3 = s3
        self._bucket = processed_bucket
        self._clock = clock
        self._fingerprint = fingerprint  # Settings.fingerprint, stored with each write

    # ------------------------------------------------------------------------------------------ reading
    def read(self, event: ObjectEvent, max_bytes: int) -> bytes:
        """The object's bytes, by version when the event names one; the size is checked before the body."""
        refuse_declared_size(event, max_bytes)
        params: dict[str, Any] = {"Bucket": event.bucket, "Key": event.key}
        if event.version_id:
            params["VersionId"] = event.version_id
        try:
            response = self._s3.get_object(**params)
        except ClientError as exc:
            if is_gone(exc):
                raise ObjectGoneError(error_code(exc) or "gone") from exc
            raise
        body = response["Body"]
        try:
            length = int(response.get("ContentLength", 0))
            if length > max_bytes:
                raise _too_big(length, max_bytes)
            data: bytes = body.read(max_bytes + 1)
        finally:
            body.close()
        if len(data) > max_bytes:
            raise _too_big(len(data), max_bytes)
        return data

    # ------------------------------------------------------------------------------------------ writing
    def existing(self, key: str) -> Existing | None:
        """What is stored under rendition `key`: None when nothing is."""
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if is_gone(exc):
                return None
            # 403 is a denial, not an absence (the role's s3:ListBucket makes S3 answer a missing key with
            # 404): writing blind could let an old event overwrite a newer photo, so the record is retried.
            raise
        metadata: Mapping[str, str] = head.get("Metadata", {})
        return Existing(
            etag=head.get("ETag"),
            sequencer=metadata.get(META_SEQUENCER) or None,
            fingerprint=metadata.get(META_FINGERPRINT) or None,
            source_version=metadata.get(META_VERSION) or None,
            source_etag=metadata.get(META_ETAG) or None,
        )

    def delete_if_unchanged(self, key: str, etag: str | None) -> bool:
        """Delete rendition `key` if it still has `etag` (If-Match): False when it changed in between.

        A key already gone counts as deleted (S3 answers 404 to If-Match on a missing key)."""
        condition: dict[str, Any] = {"IfMatch": etag} if etag is not None else {}
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=key, **condition)
        except ClientError as exc:
            if error_code(exc) == "PreconditionFailed":
                return False
            if not is_gone(exc):
                raise
        return True

    def guard(self, event: ObjectEvent, keys: Iterable[str]) -> dict[str, Existing | None]:
        """What is under each rendition key now; StaleEventError if any came from a newer event, or if every
        one is already what this event makes with these settings (a duplicate).

        Called before the download and the decode, so a stale or duplicate event costs a HEAD per rendition
        and no more; the answers make the first write attempt of each rendition conditional without another
        HEAD, and `write` leaves alone the renditions that are already current.
        """
        wanted = list(keys)
        seen = dict(zip(wanted, _in_parallel(self.existing, wanted), strict=True))
        due = [key for key, found in seen.items() if needs_write(event, key, found, self._fingerprint)]
        if not due:
            raise StaleEventError(
                f"duplicate: all {len(wanted)} renditions already come from this upload with these settings"
            )
        return seen

    def write_all(
        self, event: ObjectEvent, writes: Sequence[tuple[str, Rendition]], seen: Mapping[str, Existing | None]
    ) -> None:
        """Every rendition of one record, written side by side; the first failure is raised."""
        _in_parallel(lambda item: self.write(item[0], item[1], event, seen.get(item[0], _UNSEEN)), writes)

    def write(
        self, key: str, rendition: Rendition, event: ObjectEvent, seen: Existing | None = _UNSEEN
    ) -> None:
        """Write one rendition unless it is current (`needs_write`); conditional on what was seen.

        The rendition's metadata says when its write started (META_WRITTEN_AT, stamped again on each attempt):
        a completion time read back from the object itself, at any load, rather than when someone looked."""
        metadata = rendition_metadata(event, rendition, self._fingerprint)
        found = seen
        for _ in range(_CONDITIONAL_ATTEMPTS):
            if found is _UNSEEN:
                found = self.existing(key)
            if not needs_write(event, key, found, self._fingerprint):
                return  # another invocation of this event, with these settings, wrote it in between
            condition: dict[str, Any] = {}  # IfNoneMatch or IfMatch
            if found is None:
                condition["IfNoneMatch"] = "*"
            elif found.etag is not None:
                condition["IfMatch"] = found.etag
            try:
                self._s3.put_object(
                    Bucket=self._bucket,
                    Key=key,
                    Body=rendition.data,
                    ContentType=rendition.content_type,
                    CacheControl=CACHE_CONTROL,
                    Metadata={**metadata, META_WRITTEN_AT: written_at(self._clock())},
                    **condition,
                )
                return
            except ClientError as exc:
                if error_code(exc) not in ("PreconditionFailed", "ConditionalRequestConflict"):
                    raise
                found = _UNSEEN  # another invocation wrote in between: look again and decide again
        raise ClientError(
            {"Error": {"Code": "ConditionalRequestConflict", "Message": f"{key} kept changing"}}, "PutObject"
        )


_POOL: list[ThreadPoolExecutor] = []
# A forked child (the local runtime's workers, bounded test runs) inherits the pool but not its threads:
# it must start a pool of its own instead of waiting forever on the parent's.
os.register_at_fork(after_in_child=_POOL.clear)


def _in_parallel(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """Run the calls of one record side by side: they wait on S3, not on the CPU (one RTT instead of N).

    Every call has finished before anything is returned or raised: a write still in flight after the record
    was handed back would race its own retry, and Lambda freezes such threads with the container and thaws
    them in a later invocation. Then the first failure, in item order, is raised as a sequential loop would.
    The pool lives as long as the container.
    """
    if len(items) < 2:
        return [fn(item) for item in items]
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=4, thread_name_prefix="s3"))
    futures = [_POOL[0].submit(fn, item) for item in items]
    wait(futures)
    return [future.result() for future in futures]


def needs_write(event: ObjectEvent, key: str, found: Existing | None, fingerprint: str) -> bool:
    """The sequencer guard for one rendition: write it, leave it (already current), or StaleEventError.

    Only a comparison of two known sequencers can call an event stale or newer. Equal sequencers are the
    same upload (a duplicate, a retry, a reprocess message): the rendition is rewritten only when another
    fingerprint made it. With a sequencer missing on either side (moto's events, a rendition written from
    one) the same holds for the same upload; a rendition of another upload is replaced, since an unknown
    order never blocks a write.
    """
    if found is None:
        return True
    if event.sequencer is not None and found.sequencer is not None:
        order = compare_sequencers(event.sequencer, found.sequencer)
        if order < 0:
            raise StaleEventError(
                f"{key} comes from sequencer {found.sequencer}, newer than {event.sequencer}"
            )
        return order > 0 or found.fingerprint != fingerprint
    return found.fingerprint != fingerprint or not _same_upload(event, found)


def _same_upload(event: ObjectEvent, found: Existing) -> bool:
    """Whether the rendition was made from the upload the event names, as far as both sides say."""
    pairs = (
        (event.version_id, found.source_version),
        ((event.etag or "").strip('"') or None, found.source_etag),
    )
    return all(ours == theirs for ours, theirs in pairs if ours is not None and theirs is not None)


def refuse_declared_size(event: ObjectEvent, max_bytes: int) -> None:
    """PermanentError(TooManyBytes) for an event that declares more bytes than the limit: decided before any
    request, so neither the guard's answer nor the download can hide it."""
    if event.size is not None and event.size > max_bytes:
        raise _too_big(event.size, max_bytes)


def _too_big(size: int, limit: int) -> PermanentError:
    return PermanentError(ErrorType.TOO_MANY_BYTES, f"{size:,} bytes, over the limit of {limit:,}")
