"""Is the upload bucket's notification delivering yet? One tiny photo, followed to its renditions.

S3 can take minutes to apply a new bucket notification: photos uploaded right after a first deploy may never
reach the queue. A load run or a smoke test that starts before the canary has come through would count them
as lost; `photopipe canary` (and the acceptance run's first check) waits for it instead.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any, Final

import boto3
from botocore.exceptions import ClientError

from fixtures.generate import fixture_bytes
from handler.config import Settings, parse_output_formats, parse_renditions
from handler.keys import rendition_keys
from harness.contract import StackParameter
from harness.outputs import StackOutput

CANARY_FIXTURE: Final = "jpeg-1x1"
CANARY_PREFIX: Final = "photopipe-canary"


class NotDeliveredError(Exception):
    """The canary had no renditions in time; the message says why that usually is and what to do."""


def deployed_settings(parameters: Mapping[str, str]) -> Settings:
    """The renditions and formats a stack deployed with `parameters` writes, read by the handler's own
    parsers (a parameter left out is the template's default, which is the handler's)."""
    defaults = Settings(processed_bucket="", error_topic_arn="")
    renditions = parameters.get(StackParameter.RENDITIONS)
    formats = parameters.get(StackParameter.OUTPUT_FORMATS)
    return Settings(
        processed_bucket="",
        error_topic_arn="",
        renditions=parse_renditions(renditions) if renditions else defaults.renditions,
        output_formats=parse_output_formats(formats) if formats else defaults.output_formats,
    )


def existing_renditions(s3: Any, processed_bucket: str, keys: Sequence[str]) -> list[str]:
    """Those of the rendition `keys` that exist, in their order (one listing per rendition prefix)."""
    prefixes = {key.rsplit(".", 1)[0] + "." for key in keys}
    found: set[str] = set()
    for prefix in sorted(prefixes):
        listed = s3.list_objects_v2(Bucket=processed_bucket, Prefix=prefix)
        found |= {item["Key"] for item in listed.get("Contents", [])}
    return [key for key in keys if key in found]


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
    settings: Settings | None = None,
) -> float:
    """Upload the canary at `key` and wait for every rendition the stack writes (`settings`, from
    `deployed_settings`; the defaults when not given); returns the seconds it took. With `remove`, every
    version of the canary and its renditions is deleted afterwards (nothing is left in a real stack)."""
    expected = rendition_keys(settings or deployed_settings({}), key)
    s3 = session.client("s3")
    upload, processed = outputs[StackOutput.UPLOAD_BUCKET], outputs[StackOutput.PROCESSED_BUCKET]
    started = time.monotonic()
    s3.put_object(Bucket=upload, Key=key, Body=fixture_bytes(CANARY_FIXTURE), ContentType="image/jpeg")
    try:
        while len(existing_renditions(s3, processed, expected)) < len(expected):
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
            for rendition in expected:
                _remove_versions(s3, processed, rendition)


def _remove_versions(s3: Any, bucket: str, prefix: str) -> None:
    with suppress(ClientError):
        listed = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
        for item in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]:
            s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
