"""Follows every upload to its renditions, its rejection notice or the DLQ (runs where the accounting lives).

Why it looks the way it does: S3 says nothing when a rendition lands, so the watcher HEADs a photo's
renditions until every one is there. The handler writes them all at once, so none is reliably the last: the
first key of the function's list is looked at first, the others only once it is there. The time a photo counts
as done is not when the watcher looked: the handler stamps each rendition with the time its write started
(handler.constants.RENDITION_WRITTEN_AT_METADATA), and the HEAD that finds a rendition reads that stamp, once;
the photo is done at the latest stamp. Rejections come as SNS notices carrying the handler's time, read
through a queue the run subscribes to the error topic; the DLQ is read at the end. So latency is measured to
the handler's clock at any load, and the HEADs can be few: the first when recent photos were mostly done (a
second after the upload on an idle stack), then spaced by a quarter of the photo's age (at most 5 s),
budgeted (coordinator.HEADS_PER_SECOND) so that a backlog does not turn the watcher into load on what it
measures.
The final read-back lists the rendition prefixes once, so a photo only counts as processed when every
rendition is there.

The rest of a photo's life is followed the same way: a deleted photo until none of its renditions is left, a
photo uploaded again until its renditions are made from the newest upload (loadtests.lifecycle).
"""

from __future__ import annotations

import contextlib
import json
import logging
import statistics
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from handler.constants import RENDITION_WRITTEN_AT_METADATA
from handler.errors import PermanentError, is_gone
from handler.events import ObjectEvent, parse_body
from harness.outputs import StackOutput
from harness.topics import subscribe_queue
from loadtests.accounting import Resolution, Upload
from loadtests.lifecycle import KEEP, Deletion, is_fresh

log = logging.getLogger("photopipe.watcher")
RETRIES_EXHAUSTED = "RetriesExhausted"

OnResolved = Callable[[Upload, Resolution], None]
OnTimeout = Callable[[Upload], None]


FIRST_CHECK_S = 1.0  # after the upload finished: most photos are done by then on an idle stack
RECENT_PHOTOS = 50  # the latencies the first look of a new photo is timed by
MAX_CHECK_SPACING_S = 5.0
CLOCK_SKEW_S = 2.0  # a stamp this far outside [upload start, first seen] is not believed


def next_check(age: float) -> float:
    """Seconds until the next HEAD of a photo `age` seconds after its upload started: a quarter of its age,
    between FIRST_CHECK_S and MAX_CHECK_SPACING_S (the spacing delays the finding, not the time recorded)."""
    return min(MAX_CHECK_SPACING_S, max(FIRST_CHECK_S, age / 4))


def first_check(recent: Sequence[float]) -> float:
    """Seconds after its upload finished to look at a new photo first: most of the time recent photos took
    (a backlog makes it longer for all), at least FIRST_CHECK_S."""
    if not recent:
        return FIRST_CHECK_S
    return max(FIRST_CHECK_S, 0.8 * statistics.median(recent))


def completion_time(metadata: dict[str, str], started: float, seen: float) -> float | None:
    """The handler's stamp (epoch seconds) from a rendition's metadata, kept within [started, seen]; None
    when there is none (a handler that does not stamp) or it is off by more than CLOCK_SKEW_S."""
    raw = metadata.get(RENDITION_WRITTEN_AT_METADATA)
    if not raw:
        return None
    try:
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
    if not started - CLOCK_SKEW_S <= stamp <= seen + CLOCK_SKEW_S:
        return None
    return min(max(stamp, started), seen)


@dataclass
class _Pending:
    upload: Upload
    due: float
    timed_out: bool = False
    found: dict[str, float | None] = field(default_factory=dict)
    """Rendition keys already found, with the handler's stamp on each (None: no stamp believed)."""


@dataclass
class _Followed:
    """A deletion waiting for its renditions to go, or a second upload for its renditions to follow it."""

    upload: Upload
    since: float
    due: float


@dataclass
class Snapshot:
    t: float
    pending: int
    queue_visible: int | None
    queue_in_flight: int | None


@dataclass
class Tracker:
    """The ledger of uploads and their resolutions, plus the AWS read-back that fills it."""

    s3: Any
    sqs: Any
    sns: Any
    outputs: dict[str, str]
    rendition_keys: Callable[[str], Sequence[str]]
    """Source key -> every rendition key of the photo (the function's own list, loadtests.layout)."""
    run_id: str
    timeout: float
    lifecycle_delay: float = 0.0
    """Seconds after its upload that a photo fated to be deleted or uploaded again meets its fate."""
    on_resolved: OnResolved | None = None
    on_timeout: OnTimeout | None = None
    uploads: dict[str, Upload] = field(default_factory=dict)
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    snapshots: list[Snapshot] = field(default_factory=list)
    heads: int = 0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_PHOTOS))
    looked: int = 0
    """Photos resolved as processed at the time the watcher looked (their rendition carried no stamp)."""
    deletions: dict[str, Deletion] = field(default_factory=dict)
    reuploads: dict[str, Upload] = field(default_factory=dict)
    fresh: dict[str, bool] = field(default_factory=dict)
    """Re-uploaded key -> whether its renditions were last found made from the newest upload."""
    gone: dict[str, float] = field(default_factory=dict)
    """Deleted key -> when the watcher found none of its renditions left."""
    present: set[str] = field(default_factory=set)
    """Every rendition key listed by the final read-back."""
    _pending: dict[str, _Pending] = field(default_factory=dict)
    _followed: dict[str, _Followed] = field(default_factory=dict)
    _queue_url: str | None = None
    _subscription: str | None = None

    # ------------------------------------------------------------------ ledger
    def add(self, upload: Upload) -> None:
        self.uploads[upload.key] = upload
        if upload.ok and upload.key not in self.resolutions:
            self._pending[upload.key] = _Pending(upload, due=upload.finished + first_check(self.recent))

    def pending(self) -> list[Upload]:
        return [p.upload for p in self._pending.values()]

    def overdue(self, now: float, age: float) -> list[Upload]:
        return [p.upload for p in self._pending.values() if now - p.upload.started > age]

    def resolve(self, key: str, resolution: Resolution) -> None:
        if key in self.resolutions or key not in self.uploads:
            return
        self.resolutions[key] = resolution
        self._pending.pop(key, None)
        if resolution.outcome == "processed":
            self.recent.append(max(0.0, resolution.at - self.uploads[key].finished))
        if self.on_resolved is not None:
            self.on_resolved(self.uploads[key], resolution)

    # ------------------------------------------------------------------ error notices
    def subscribe_errors(self) -> None:
        """A queue of the run's own on the error topic: notices are read, not consumed from anyone else."""
        topic = self.outputs[StackOutput.ERROR_TOPIC_ARN]
        name = f"photopipe-load-{self.run_id}"[:80]
        self._queue_url, self._subscription = subscribe_queue(self.sqs, self.sns, name, topic)

    def read_errors(self, wait_seconds: int = 1) -> int:
        """One receive on the run's notice queue; returns how many notices were read."""
        if self._queue_url is None:
            return 0
        answer = self.sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        )
        messages = answer.get("Messages", [])
        now = time.time()
        for message in messages:
            notice = parse_notice(message.get("Body", ""))
            if notice is not None:
                key, error_type, at = notice
                upload = self.uploads.get(key)
                if upload is not None:
                    when = at if at is not None and upload.started <= at <= now else now
                    outcome: Literal["dlq", "rejected"] = (
                        "dlq" if error_type == RETRIES_EXHAUSTED else "rejected"
                    )
                    self.resolve(key, Resolution(outcome, when, error_type))
        if messages:
            self.sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        return len(messages)

    # ------------------------------------------------------------------ renditions
    def _metadata(self, key: str) -> dict[str, str] | None:
        """The rendition's user metadata, or None when it is not there."""
        self.heads += 1
        try:
            head = self.s3.head_object(Bucket=self.outputs[StackOutput.PROCESSED_BUCKET], Key=key)
        except ClientError as exc:
            if is_gone(exc):
                return None
            raise
        metadata: dict[str, str] = head.get("Metadata", {})
        return metadata

    def due(self, now: float, limit: int = 200) -> list[Upload]:
        ready = [p for p in self._pending.values() if p.due <= now]
        ready.sort(key=lambda p: p.due)
        return [p.upload for p in ready[:limit]]

    def check(self, upload: Upload, now: float | None = None) -> bool:
        """HEAD the renditions of one photo not found yet, in the function's order and no further while one
        is missing (one HEAD per look until the first lands); resolves the photo as processed, at the latest
        of the handler's stamps, once every one is there."""
        pending = self._pending.get(upload.key) or _Pending(upload, due=0.0)
        missing = [k for k in self.rendition_keys(upload.key) if k not in pending.found]
        seen = time.time() if now is None else now
        for key in missing:
            try:
                metadata = self._metadata(key)
            except (ClientError, BotoCoreError) as exc:
                log.debug("HEAD failed for %s: %s", key, exc)
                metadata = None
            if metadata is None:
                break
            pending.found[key] = completion_time(metadata, upload.started, seen)
        else:
            stamps = list(pending.found.values())
            at = None if None in stamps or not stamps else max(s for s in stamps if s is not None)
            if at is None:
                self.looked += 1
            self.resolve(upload.key, Resolution("processed", seen if at is None else at))
            return True
        if upload.key in self._pending:
            age = seen - upload.started
            pending.due = seen + (MAX_CHECK_SPACING_S if pending.timed_out else next_check(age))
            if age > self.timeout and not pending.timed_out:
                pending.timed_out = True
                if self.on_timeout is not None:
                    self.on_timeout(upload)
        return False

    # ------------------------------------------------------------------ the rest of a photo's life
    def deleted(self, deletion: Deletion) -> None:
        """The uploader deleted a photo: it is followed until none of its renditions is left. A photo not
        seen processed by then owes nothing more (its event may well be skipped as gone)."""
        self.deletions[deletion.key] = deletion
        if not deletion.ok or deletion.key not in self.uploads:
            return
        if deletion.key not in self.resolutions:
            self.resolve(deletion.key, Resolution("deleted", deletion.finished))
        upload = self.uploads[deletion.key]
        self._followed[deletion.key] = _Followed(upload, deletion.finished, deletion.finished + FIRST_CHECK_S)

    def reuploaded(self, upload: Upload) -> None:
        """The uploader put a new photo under a key: followed until its renditions are made from it."""
        self.reuploads[upload.key] = upload
        if upload.ok and upload.key in self.uploads:
            self.fresh[upload.key] = False
            self._followed[upload.key] = _Followed(upload, upload.finished, upload.finished + FIRST_CHECK_S)

    def followed_due(self, now: float, limit: int = 200) -> list[str]:
        ready = sorted((f for f in self._followed.values() if f.due <= now), key=lambda f: f.due)
        return [f.upload.key for f in ready[:limit]]

    def follow(self, key: str, now: float | None = None) -> bool:
        """One look at a deleted or re-uploaded photo's renditions; True once it is settled (none left, or
        every one made from the newest upload)."""
        followed = self._followed.get(key)
        if followed is None:
            return True
        renditions = []
        for rendition in self.rendition_keys(key):
            try:
                renditions.append(self._metadata(rendition))
            except (ClientError, BotoCoreError) as exc:
                log.debug("HEAD failed for %s: %s", rendition, exc)
                renditions.append({})
        seen = time.time() if now is None else now
        if key in self.deletions:
            settled = all(m is None for m in renditions)
            if settled:
                self.gone[key] = seen
        else:
            settled = self.fresh[key] = is_fresh(followed.upload, renditions)
        if settled:
            del self._followed[key]
        else:
            followed.due = seen + next_check(seen - followed.since)
        return settled

    def awaited(self, now: float) -> list[str]:
        """Keys the run still waits for: photos not resolved, deletions and second uploads not settled, and
        photos whose fate is still to come (each for at most the timeout)."""
        waiting = [u.key for u in self.pending() if now - u.started <= self.timeout]
        waiting += [k for k, f in self._followed.items() if now - f.since <= self.timeout]
        waiting += [
            u.key
            for u in self.uploads.values()
            if u.ok
            and u.then != KEEP
            and u.key not in self.deletions
            and u.key not in self.reuploads
            and now - u.finished <= self.lifecycle_delay + self.timeout
        ]
        return waiting

    def snapshot(self, t: float) -> None:
        visible = in_flight = None
        with contextlib.suppress(ClientError, BotoCoreError, KeyError):
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.outputs[StackOutput.PROCESSING_QUEUE_URL],
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            visible = int(attributes.get("ApproximateNumberOfMessages", 0))
            in_flight = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
        self.snapshots.append(Snapshot(t, len(self._pending), visible, in_flight))

    # ------------------------------------------------------------------ the end
    def listed(self, prefix: str) -> set[str]:
        keys: set[str] = set()
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.outputs[StackOutput.PROCESSED_BUCKET], Prefix=prefix):
            keys.update(item["Key"] for item in page.get("Contents", []))
        return keys

    def dlq_keys(self) -> set[str]:
        """Keys of the S3 events sitting in the DLQ. Read without deleting (they stay there for a redrive),
        then made visible again at once."""
        url = self.outputs[StackOutput.DEAD_LETTER_QUEUE_URL]
        keys: set[str] = set()
        handles: list[str] = []
        seen_ids: set[str] = set()
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=60
            ).get("Messages", [])
            fresh = [m for m in messages if m["MessageId"] not in seen_ids]
            if not fresh:
                break
            for message in fresh:
                seen_ids.add(message["MessageId"])
                handles.append(message["ReceiptHandle"])
                try:
                    notices = parse_body(message["Body"])
                except PermanentError as exc:
                    log.warning("a DLQ message that is not an S3 notification: %s", exc)
                    continue
                keys.update(n.key for n in notices if isinstance(n, ObjectEvent))
        for handle in handles:
            with contextlib.suppress(ClientError, BotoCoreError):
                self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
        return keys

    def finalize(self, prefixes: Sequence[str]) -> None:
        """The final read-back: notices still queued, every rendition prefix listed once, the DLQ read.
        A photo resolved as processed without all of its renditions is taken back (it is not accounted),
        unless its owner deleted it; a second upload not yet followed to its renditions gets a last look."""
        while self.read_errors(wait_seconds=1):
            pass
        present: set[str] = set()
        for prefix in prefixes:
            present |= self.listed(prefix)
        self.present = present
        now = time.time()
        for key in [k for k in self._followed if k in self.reuploads]:
            self.follow(key, now)
        for key, upload in list(self.uploads.items()):
            deletion = self.deletions.get(key)
            if not upload.ok or (deletion is not None and deletion.ok):
                continue
            complete = all(k in present for k in self.rendition_keys(key))
            current = self.resolutions.get(key)
            if current is None and complete:
                self.check(upload, now)  # one HEAD for the handler's stamp
            elif current is not None and current.outcome == "processed" and not complete:
                del self.resolutions[key]
                self._pending[key] = _Pending(upload, due=now, timed_out=True)
        for key in self.dlq_keys():
            if key in self.uploads and key not in self.resolutions:
                self.resolve(key, Resolution("dlq", now, RETRIES_EXHAUSTED))

    def close(self) -> None:
        if self._subscription:
            with contextlib.suppress(ClientError, BotoCoreError):
                self.sns.unsubscribe(SubscriptionArn=self._subscription)
        if self._queue_url:
            with contextlib.suppress(ClientError, BotoCoreError):
                self.sqs.delete_queue(QueueUrl=self._queue_url)
        self._subscription = self._queue_url = None


def parse_notice(body: str) -> tuple[str, str | None, float | None] | None:
    """(key, error type, epoch seconds) of an error-topic notice, raw or in its SNS envelope."""
    try:
        document = json.loads(body)
        if isinstance(document, dict) and "Message" in document and document.get("Type") == "Notification":
            document = json.loads(document["Message"])
    except (ValueError, TypeError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("key"), str):
        return None
    at = None
    raw_time = document.get("time")
    if isinstance(raw_time, str):
        with contextlib.suppress(ValueError):
            at = datetime.fromisoformat(raw_time.replace("Z", "+00:00")).timestamp()
    error_type = document.get("errorType")
    return document["key"], error_type if isinstance(error_type, str) else None, at


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def uploads_from(records: Iterable[dict[str, Any]]) -> list[Upload]:
    return [Upload.from_json(r) for r in records]
