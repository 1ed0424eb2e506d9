"""Is the upload bucket's notification delivering yet? One tiny photo, followed to its renditions.

S3 can take minutes to apply a new bucket notification: photos uploaded right after a first deploy may never
reach the queue. A load run or a smoke test that starts before the canary has come through would count them
as lost; `photopipe canary` (and the acceptance run's first check) waits for it instead.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any, Final

import boto3
from botocore.exceptions import ClientError

from fixtures.generate import fixture_bytes
from handler.constants import LARGE_RENDITION, THUMBNAIL_RENDITION
from harness.outputs import StackOutput

RENDITIONS: Final = (LARGE_RENDITION, THUMBNAIL_RENDITION)
CANARY_FIXTURE: Final = "jpeg-1x1"
CANARY_PREFIX: Final = "photopipe-canary"


class NotDeliveredError(Exception):
    """The canary had no renditions in time; the message says why that usually is and what to do."""


def rendition_keys(s3: Any, processed_bucket: str, source_key: str) -> dict[str, str]:
    """Rendition name -> key, for the renditions of `source_key` that exist (any output format)."""
    stem = source_key.rsplit(".", 1)[0]
    found: dict[str, str] = {}
    for rendition in RENDITIONS:
        listed = s3.list_objects_v2(Bucket=processed_bucket, Prefix=f"{rendition}/{stem}.")
        for item in listed.get("Contents", []):
            found[rendition] = item["Key"]
    return found


def canary_key(key_prefix: str = "", now: datetime | None = None) -> str:
    moment = now or datetime.now(UTC)
    return f"{key_prefix}{CANARY_PREFIX}/{moment:%Y%m%dT%H%M%S%f}.jpg"


def wait_for_delivery(
    session: boto3.Session,
    outputs: Mapping[str, str],
    *,
    key: str,
    timeout: float,
    poll: float,
    remove: bool = True,
) -> float:
    """Upload the canary at `key` and wait for every rendition; returns the seconds it took. With `remove`,
    every version of the canary and its renditions is deleted afterwards (nothing is left in a real stack)."""
    s3 = session.client("s3")
    upload, processed = outputs[StackOutput.UPLOAD_BUCKET], outputs[StackOutput.PROCESSED_BUCKET]
    started = time.monotonic()
    s3.put_object(Bucket=upload, Key=key, Body=fixture_bytes(CANARY_FIXTURE), ContentType="image/jpeg")
    try:
        while len(rendition_keys(s3, processed, key)) < len(RENDITIONS):
            if time.monotonic() - started >= timeout:
                raise NotDeliveredError(
                    f"the canary upload s3://{upload}/{key} had no renditions after {timeout:.0f} s: the "
                    "bucket notification is not delivering yet (S3 can take minutes to apply a new one) "
                    "or the function fails; wait longer (--canary-timeout), and check the function's log "
                    "group and the dead-letter queue"
                )
            time.sleep(poll)
        return time.monotonic() - started
    finally:
        if remove:
            _remove_versions(s3, upload, key)
            stem = key.rsplit(".", 1)[0]
            for rendition in RENDITIONS:
                _remove_versions(s3, processed, f"{rendition}/{stem}.")


def _remove_versions(s3: Any, bucket: str, prefix: str) -> None:
    with suppress(ClientError):
        listed = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
        for item in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]:
            s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
