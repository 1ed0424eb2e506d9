"""Find and mend drift between uploads and renditions: `photopipe reconcile [--fix]`.

Missing, outdated and stale photos are mended the way `reprocess` mends them (a reprocess message each, the
sequencer guard decides); orphans are deleted, each only if it is still the object that was listed (If-Match
on its ETag), so a rendition written since the listing, for an upload made since, is never deleted. Photos the
function rejected (their upload's version tagged photopipe-rejected: handler/rejection.py) are counted apart,
are no drift and are never enqueued: sending one again would only earn another rejection notice.

Listing is enough at this project's scale: ListObjectsV2 and ListObjectVersions return 1,000 keys a request,
and 4,000 photos a day with two renditions each add 12,000 keys a day, 4.4 million a year: one pass lists a
year of photos in about 4,400 requests, plus one HEAD per photo for its fingerprint. The time and the price at
any size, and where S3 Inventory's daily listing takes over, are computed in harness.measures.survey_cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError
from rich.progress import Progress
from rich.table import Table

from handler.errors import error_code
from harness.drift import DRIFT_STATUSES, Drift, Listed
from harness.pacing import Pacer
from harness.reprocess import enqueue
from harness.survey import HEAD_WORKERS, Deployed, Stock, take_stock

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

CHANGED: Final = frozenset({"PreconditionFailed", "412"})


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    stock: Stock
    fixed: bool
    enqueued: int = 0
    deleted: int = 0
    kept: tuple[str, ...] = ()  # orphans that changed since they were listed, left alone

    @property
    def drift(self) -> Drift:
        return self.stock.drift

    @property
    def exit_status(self) -> int:
        """1 when drift was found and not mended, 0 otherwise."""
        return 1 if self.drift.found and not self.fixed else 0

    def to_json(self) -> dict[str, Any]:
        return {
            **self.stock.to_json(),
            "fixed": self.fixed,
            "enqueued": self.enqueued,
            "deleted": self.deleted,
            "kept": list(self.kept),
        }


def delete_orphan(s3: S3Client, bucket: str, orphan: Listed) -> bool:
    """Delete the orphan if it is still what was listed; False when it changed since (it is kept)."""
    try:
        s3.delete_object(Bucket=bucket, Key=orphan.key, IfMatch=orphan.etag)
    except ClientError as exc:
        if error_code(exc) in CHANGED:
            return False
        raise
    return True


def delete_orphans(s3: S3Client, bucket: str, orphans: Sequence[Listed]) -> tuple[int, tuple[str, ...]]:
    """(deleted, kept keys)."""
    with ThreadPoolExecutor(max_workers=HEAD_WORKERS, thread_name_prefix="delete") as pool:
        done = list(pool.map(lambda orphan: delete_orphan(s3, bucket, orphan), orphans))
    kept = tuple(orphan.key for orphan, deleted in zip(orphans, done, strict=True) if not deleted)
    return len(orphans) - len(kept), kept


def reconcile(
    s3: S3Client,
    sqs: SQSClient,
    deployed: Deployed,
    *,
    region: str,
    fix: bool,
    pacer: Pacer,
    pending_after: datetime | None,
    progress: Progress | None = None,
) -> ReconcileResult:
    """Compare every upload with the whole processed bucket; with `fix`, enqueue and delete what drifted."""
    stock = take_stock(
        s3,
        deployed,
        prefix=deployed.upload_prefix,
        pending_after=pending_after,
        every_rendition=True,
        progress=progress,
    )
    drift = stock.drift
    if not fix or not drift.found:
        return ReconcileResult(stock, fixed=False)
    photos = drift.having(*DRIFT_STATUSES)
    enqueued = enqueue(sqs, deployed, photos, region=region, pacer=pacer, progress=progress)
    deleted, kept = delete_orphans(s3, deployed.processed_bucket, drift.orphans)
    return ReconcileResult(stock, fixed=True, enqueued=enqueued, deleted=deleted, kept=kept)


def drift_table(drift: Drift, title: str) -> Table:
    """Counts and a few examples per category."""
    table = Table(title=title, title_justify="left")
    table.add_column("category")
    table.add_column("count", justify="right")
    table.add_column("examples", overflow="fold")
    counts, examples = drift.counts(), drift.examples()
    for category in ("uploads", "current", *examples):
        table.add_row(category, f"{counts[category]:,}", ", ".join(examples.get(category, [])))
    return table
