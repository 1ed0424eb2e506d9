"""The mark a rejected upload carries: the tag `photopipe-rejected=<ErrorType>` on the rejected version.

A rejected photo has no renditions by design, and nothing else records that it was rejected: without the mark,
`photopipe reconcile` would count it as missing and `--fix` would send it again on every run, each time
earning one more rejection notice. The tag sits on the upload's version itself, so it goes wherever that
version goes: a new upload of the key is a new version without it, a deleted one takes it along.

The tag is best effort (the caller logs a failure and the rejection stands): the notice is what the failure
contract promises, the tag only spares reconcile a wrong verdict.

PutObjectTagging replaces the whole tag set, so the upload's tags are read first and kept, and ours is added
or its value replaced. Read and write are two requests: a tag someone else changes in between is overwritten
with its old value. The function tags only rejected uploads, once per rejection, so the window is a few
milliseconds of a rare event; the alternative, dropping the user's tags, would be certain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from handler.constants import REJECTED_TAG_KEY

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectTaggingRequestTypeDef, PutObjectTaggingRequestTypeDef

MAX_OBJECT_TAGS: Final = 10  # S3 refuses an object tag set larger than this
# The log message of a failed mark (its count: `filter message = "..." | stats count()` in Logs Insights).
REJECTION_NOT_TAGGED: Final = "rejected upload not tagged"


class TagSetFullError(ValueError):
    """The upload already holds S3's most tags, none of them ours: adding the mark would be refused."""


def tags_with_rejection(existing: Mapping[str, str], error_type: str) -> dict[str, str]:
    """The upload's tags with the rejection mark added (or its value replaced), the others unchanged."""
    if REJECTED_TAG_KEY not in existing and len(existing) >= MAX_OBJECT_TAGS:
        raise TagSetFullError(
            f"the upload already has {len(existing)} tags, S3's most: {REJECTED_TAG_KEY} cannot be added"
        )
    return {**existing, REJECTED_TAG_KEY: error_type}


def mark_rejected(s3: S3Client, bucket: str, key: str, version_id: str | None, error_type: str) -> None:
    """Tag the rejected version (the key's current object when the event names no version)."""
    read: GetObjectTaggingRequestTypeDef = {"Bucket": bucket, "Key": key}
    write: PutObjectTaggingRequestTypeDef = {"Bucket": bucket, "Key": key, "Tagging": {"TagSet": []}}
    if version_id:
        read["VersionId"] = write["VersionId"] = version_id
    existing = {tag["Key"]: tag["Value"] for tag in s3.get_object_tagging(**read).get("TagSet", [])}
    tags = tags_with_rejection(existing, error_type)
    write["Tagging"] = {"TagSet": [{"Key": name, "Value": value} for name, value in tags.items()]}
    s3.put_object_tagging(**write)
