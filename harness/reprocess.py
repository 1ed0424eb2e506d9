"""Send old uploads through the pipeline again: S3-shaped notifications on the processing queue, rate limited.

A reprocess message is what S3 itself would have sent for the upload's current version, so the function needs
no second entry point and the sequencer guard decides, as for any duplicate: a photo whose renditions are
current is skipped, one with none is written, one made with other settings (another fingerprint) is
rewritten. The message carries the sequencer its stored renditions record, so the rewrite keeps the order
they had and an older removal or event still cannot undo them; renditions made from another version of the
upload (its own event was lost) give it none, and the guard replaces them as another upload's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote_plus

from rich.progress import Progress

from harness.drift import DRIFT_STATUSES, Drift, Listed, PhotoState
from harness.pacing import Pacer
from harness.params import InvalidInputError
from harness.survey import Deployed, Stock, take_stock

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

BATCH: Final = 10  # SendMessageBatch's most entries
SEND_ATTEMPTS: Final = 3
EVENT_NAME: Final = "ObjectCreated:Put"
CONFIGURATION_ID: Final = "photopipe-reprocess"


class NoPhotosError(InvalidInputError):
    """The chosen prefix (and date) holds no upload: nothing would be sent, which is usually a typo."""


def s3_record(
    bucket: str, upload: Listed, sequencer: str | None, region: str, now: datetime
) -> dict[str, Any]:
    """One notification record as S3 writes it: the key URL-encoded (spaces as '+', '/' kept), the eTag
    unquoted; versionId and sequencer only when there is one."""
    obj: dict[str, Any] = {"key": quote_plus(upload.key, safe="/"), "size": upload.size}
    obj["eTag"] = upload.etag.strip('"')
    if upload.version_id:
        obj["versionId"] = upload.version_id
    if sequencer:
        obj["sequencer"] = sequencer
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventName": EVENT_NAME,
        "userIdentity": {"principalId": CONFIGURATION_ID},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": CONFIGURATION_ID,
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": obj,
        },
    }


def reprocess_message(bucket: str, photo: PhotoState, region: str, now: datetime) -> str:
    return json.dumps({"Records": [s3_record(bucket, photo.upload, photo.sequencer, region, now)]})


def send_messages(
    sqs: SQSClient,
    queue_url: str,
    bodies: Iterable[str],
    pacer: Pacer,
    advance: Callable[[int], Any] = lambda _: None,
) -> int:
    """SendMessageBatch in tens, paced; entries SQS refuses for its own reasons are sent again (up to
    SEND_ATTEMPTS), a refusal of ours is raised with the count already sent."""
    sent = 0
    batch: list[str] = []
    for body in bodies:
        batch.append(body)
        if len(batch) == BATCH:
            sent += _send_batch(sqs, queue_url, batch, pacer, sent)
            advance(len(batch))
            batch = []
    if batch:
        sent += _send_batch(sqs, queue_url, batch, pacer, sent)
        advance(len(batch))
    return sent


def _send_batch(sqs: SQSClient, queue_url: str, bodies: Sequence[str], pacer: Pacer, sent_before: int) -> int:
    pending = {str(index): body for index, body in enumerate(bodies)}
    pacer.wait(len(pending))
    for _ in range(SEND_ATTEMPTS):
        entries = [{"Id": index, "MessageBody": body} for index, body in pending.items()]
        answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]
        for done in answer.get("Successful", []):
            pending.pop(done["Id"], None)
        ours = [failure for failure in answer.get("Failed", []) if failure.get("SenderFault")]
        if ours:
            raise RuntimeError(
                f"SQS refused a reprocess message: {ours[0].get('Code')}: {ours[0].get('Message', '')} "
                f"({sent_before + len(bodies) - len(pending)} sent)"
            )
        if not pending:
            return len(bodies)
    raise RuntimeError(
        f"{len(pending)} reprocess message(s) still failing after {SEND_ATTEMPTS} attempts "
        f"({sent_before + len(bodies) - len(pending)} sent)"
    )


def listing_prefix(requested: str | None, upload_prefix: str) -> str:
    """The prefix to list: the stack's UploadKeyPrefix, or a narrower one inside it. The function processes
    only uploads under UploadKeyPrefix, so a prefix outside it is refused rather than listed for nothing."""
    if requested is None or requested == "":
        return upload_prefix
    if requested.startswith(upload_prefix):
        return requested
    if upload_prefix.startswith(requested):
        return upload_prefix
    raise InvalidInputError(
        f"--prefix {requested!r} is outside the stack's UploadKeyPrefix {upload_prefix!r}: only uploads "
        "under it are processed; allowed: a prefix that starts with it"
    )


@dataclass(frozen=True, slots=True)
class ReprocessResult:
    stock: Stock
    chosen: tuple[PhotoState, ...]
    sent: int
    dry_run: bool
    seconds: float

    @property
    def drift(self) -> Drift:
        return self.stock.drift

    def to_json(self) -> dict[str, Any]:
        return {
            "uploads": len(self.drift.photos),
            "chosen": len(self.chosen),
            "sent": self.sent,
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 1),
            "counts": self.drift.counts(),
            "fingerprint": self.stock.fingerprint.to_json(),
            **({"keys": [photo.upload.key for photo in self.chosen]} if self.dry_run else {}),
        }


def choose(drift: Drift, *, stale_only: bool) -> tuple[PhotoState, ...]:
    """Every listed photo, or with `stale_only` those whose renditions are not what the settings make now
    (missing, outdated or stale); a photo still within its grace is left to its own event. A photo the
    function rejected is sent only without `stale_only`: listing its prefix is the user's explicit choice, and
    it earns another rejection notice (or renditions, if the settings now accept it)."""
    return drift.having(*DRIFT_STATUSES) if stale_only else drift.photos


def enqueue(
    sqs: SQSClient,
    deployed: Deployed,
    photos: Sequence[PhotoState],
    *,
    region: str,
    pacer: Pacer,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Send one reprocess message per photo to the stack's processing queue; returns how many went."""
    track = progress or Progress(disable=True)
    task = track.add_task("sending reprocess messages", total=len(photos))
    bodies = (reprocess_message(deployed.upload_bucket, photo, region, now()) for photo in photos)
    return send_messages(sqs, deployed.queue_url, bodies, pacer, advance=lambda n: track.advance(task, n))


def reprocess(
    s3: S3Client,
    sqs: SQSClient,
    deployed: Deployed,
    *,
    region: str,
    prefix: str | None = None,
    since: datetime | None = None,
    stale_only: bool = False,
    dry_run: bool = False,
    pacer: Pacer,
    pending_after: datetime | None = None,
    progress: Progress | None = None,
) -> ReprocessResult:
    """List the chosen uploads and send each a reprocess message (none with `dry_run`).

    Refuses (NoPhotosError) a prefix and date under which the upload bucket holds no photo."""
    started = time.monotonic()
    where = listing_prefix(prefix, deployed.upload_prefix)
    stock = take_stock(
        s3, deployed, prefix=where, since=since, pending_after=pending_after, progress=progress
    )
    if not stock.drift.photos:
        after = f" last modified since {since.isoformat()}" if since else ""
        raise NoPhotosError(
            f"no photos under prefix {where!r}{after} in s3://{deployed.upload_bucket}: nothing to "
            "reprocess; check --prefix (keys start with it, case-sensitive) and --since"
        )
    chosen = choose(stock.drift, stale_only=stale_only)
    sent = 0
    if not dry_run:
        sent = enqueue(sqs, deployed, chosen, region=region, pacer=pacer, progress=progress)
    return ReprocessResult(stock, chosen, sent, dry_run, time.monotonic() - started)
