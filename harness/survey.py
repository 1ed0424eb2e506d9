"""What a deployed stack holds: its uploads, its renditions and what made them (harness.drift's I/O).

The expected rendition keys and the fingerprint come from the deployed function's own environment
(GetFunctionConfiguration -> handler.config.Settings.from_env), never from the template's defaults or the
harness's guess: a stack deployed with other renditions or formats is judged by what it actually makes.
Listings go through boto3's paginators (1,000 keys a request); the one HEAD per photo with renditions, and the
one GetObjectTagging per photo without any (its rejection tag: handler/rejection.py), run on a small pool of
threads, since each waits on S3 and not on the CPU.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Final, TypeVar

import boto3
from botocore.exceptions import ClientError
from rich.progress import Progress

from handler.config import ConfigError, Settings
from handler.constants import REJECTED_TAG_KEY
from handler.errors import is_gone
from handler.keys import rendition_keys
from handler.storage import META_FINGERPRINT, META_SEQUENCER, META_VERSION
from harness.contract import StackParameter
from harness.drift import Drift, ExpectedKeys, Listed, Made, compare, probe_targets, unrendered
from harness.outputs import StackOutput
from harness.stack import StackError, describe_stack, read_outputs

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectTaggingRequestTypeDef

HEAD_WORKERS: Final = 16  # concurrent HEADs: ~16 x 50 requests/s per thread stays far below S3's 5,500 GET/s
_LAMBDA_TIME: Final = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(?P<offset>Z|[+-]\d\d:?\d\d|)"
)
Found = TypeVar("Found")
REQUIRED_OUTPUTS: Final = (
    StackOutput.UPLOAD_BUCKET,
    StackOutput.PROCESSED_BUCKET,
    StackOutput.PROCESSING_QUEUE_URL,
    StackOutput.FUNCTION_NAME,
)


@dataclass(frozen=True, slots=True)
class Deployed:
    """One stack's pipeline as deployed: where uploads and renditions live, and what the function makes."""

    stack_name: str
    upload_bucket: str
    processed_bucket: str
    queue_url: str
    function_name: str
    upload_prefix: str  # the notification's filter: only uploads under it are the pipeline's
    settings: Settings
    # From then on every rendition written comes from the function as deployed now: its last update, plus
    # the timeout, within which an invocation of the code before it may still finish.
    settled_at: datetime

    @property
    def expected(self) -> ExpectedKeys:
        return partial(rendition_keys, self.settings)

    @property
    def rendition_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.settings.renditions)


def resolve(session: boto3.Session, stack_name: str) -> Deployed:
    """The stack's buckets, queue, function and settings; StackError naming what is missing."""
    outputs = read_outputs(session, stack_name, required=REQUIRED_OUTPUTS)
    stack = describe_stack(session.client("cloudformation"), stack_name) or {}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters") or []}
    function = outputs[StackOutput.FUNCTION_NAME]
    configuration = session.client("lambda").get_function_configuration(FunctionName=function)
    environment: Mapping[str, str] = configuration.get("Environment", {}).get("Variables", {})
    try:
        settings = Settings.from_env(environment)
    except ConfigError as exc:
        raise StackError(f"function {function}'s environment is not one the handler accepts: {exc}") from exc
    settled_at = lambda_time(configuration["LastModified"]) + timedelta(seconds=configuration["Timeout"])
    return Deployed(
        stack_name=stack_name,
        upload_bucket=outputs[StackOutput.UPLOAD_BUCKET],
        processed_bucket=outputs[StackOutput.PROCESSED_BUCKET],
        queue_url=outputs[StackOutput.PROCESSING_QUEUE_URL],
        function_name=function,
        upload_prefix=parameters.get(StackParameter.UPLOAD_KEY_PREFIX, ""),
        settings=settings,
        settled_at=settled_at,
    )


def lambda_time(value: str) -> datetime:
    """Lambda's LastModified (`2026-11-29T03:00:00.000+0000`; emulators write `...000000Z`) as a UTC time."""
    match = _LAMBDA_TIME.fullmatch(value.strip())
    if match is None:
        raise StackError(f"the function's LastModified {value!r} is not a time Lambda writes")
    moment = datetime.fromisoformat(match["time"]).replace(tzinfo=UTC)
    offset = match["offset"]
    if offset not in ("Z", ""):
        sign = 1 if offset[0] == "+" else -1
        moment -= sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[-2:]))
    return moment


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The fingerprint the deployed function writes, and how it is known.

    The handler's fingerprint includes the Pillow version of the zip, which may differ from this machine's
    (a deploy resolves `pillow>=13,<14` when it builds): a rendition written after the function settled says
    what the function writes; only when there is none yet is it computed here."""

    value: str
    seen_on: str | None  # the rendition key it was read from; None when computed by the harness

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.seen_on or "computed"}


def deployed_fingerprint(s3: S3Client, deployed: Deployed, renditions: Iterable[Listed]) -> Fingerprint:
    newest = max(renditions, key=lambda item: item.last_modified, default=None)
    if newest is not None and newest.last_modified > deployed.settled_at:
        made = read_made(s3, deployed.processed_bucket, newest.key)
        if made is not None and made.fingerprint:
            return Fingerprint(made.fingerprint, newest.key)
    return Fingerprint(deployed.settings.fingerprint, None)


def list_uploads(
    s3: S3Client, bucket: str, prefix: str = "", since: datetime | None = None
) -> Iterator[Listed]:
    """The current version of every upload under `prefix` (last modified at or after `since`).

    ListObjectVersions rather than ListObjectsV2: a reprocess message names the version it means, and the
    delete markers of the versioned upload bucket hide removed photos as they should."""
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for version in page.get("Versions", []):
            if not version.get("IsLatest") or (since is not None and version["LastModified"] < since):
                continue
            version_id = version.get("VersionId")
            yield Listed(
                key=version["Key"],
                etag=version.get("ETag", ""),
                size=int(version.get("Size", 0)),
                last_modified=version["LastModified"],
                version_id=None if version_id in (None, "null") else version_id,
            )


def list_objects(s3: S3Client, bucket: str, prefix: str = "") -> Iterator[Listed]:
    """Every object under `prefix` (the processed bucket keeps no versions)."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield Listed(
                key=item["Key"],
                etag=item.get("ETag", ""),
                size=int(item.get("Size", 0)),
                last_modified=item["LastModified"],
            )


def rendition_prefixes(names: tuple[str, ...], upload_prefix: str) -> tuple[str, ...]:
    """Where the renditions of uploads under `upload_prefix` can be: `<name>/` plus the prefix's folders.

    Only the folders: a rendition key drops the upload's extension, so `photos/a.jp` is no prefix of
    `large/photos/a.jpg`'s rendition `large/photos/a.jpeg`, but `photos/` always is."""
    folders = upload_prefix[: upload_prefix.rfind("/") + 1]
    return tuple(f"{name}/{folders}" for name in names)


def read_made(s3: S3Client, bucket: str, key: str) -> Made | None:
    """What the rendition's metadata records; None when it is gone since it was listed."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_gone(exc):
            return None
        raise
    metadata: Mapping[str, str] = head.get("Metadata", {})
    return Made(
        fingerprint=metadata.get(META_FINGERPRINT) or None,
        sequencer=metadata.get(META_SEQUENCER) or None,
        version_id=metadata.get(META_VERSION) or None,
    )


def read_rejection(s3: S3Client, bucket: str, upload: Listed) -> str | None:
    """The ErrorType the listed version's rejection tag names; None when untagged or gone since listed."""
    request: GetObjectTaggingRequestTypeDef = {"Bucket": bucket, "Key": upload.key}
    if upload.version_id:
        request["VersionId"] = upload.version_id
    try:
        tags = s3.get_object_tagging(**request).get("TagSet", [])
    except ClientError as exc:
        if is_gone(exc):
            return None
        raise
    return next((tag["Value"] for tag in tags if tag["Key"] == REJECTED_TAG_KEY), None)


def _each_upload(
    uploads: list[str],
    read: Callable[[str], Found | None],
    advance: Callable[[int], Any],
    workers: int,
) -> dict[str, Found]:
    """Upload key -> what `read` found for it, `workers` reads at a time; those it found nothing for are left
    out."""
    found: dict[str, Found] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="look") as pool:
        for upload, answer in zip(uploads, pool.map(read, uploads), strict=True):
            advance(1)
            if answer is not None:
                found[upload] = answer
    return found


def read_all_made(
    s3: S3Client,
    bucket: str,
    targets: Mapping[str, str],
    *,
    advance: Callable[[int], Any] = lambda _: None,
    workers: int = HEAD_WORKERS,
) -> dict[str, Made]:
    """Upload key -> its probe rendition's metadata, for every (upload, rendition key) in `targets`."""
    return _each_upload(
        list(targets), lambda upload: read_made(s3, bucket, targets[upload]), advance, workers
    )


def read_all_rejections(
    s3: S3Client,
    bucket: str,
    uploads: Iterable[Listed],
    *,
    advance: Callable[[int], Any] = lambda _: None,
    workers: int = HEAD_WORKERS,
) -> dict[str, str]:
    """Upload key -> the ErrorType of its rejection tag, for the tagged ones among `uploads`."""
    listed = {upload.key: upload for upload in uploads}
    return _each_upload(list(listed), lambda key: read_rejection(s3, bucket, listed[key]), advance, workers)


@dataclass(frozen=True, slots=True)
class Stock:
    drift: Drift
    fingerprint: Fingerprint

    def to_json(self) -> dict[str, Any]:
        return {**self.drift.to_json(), "fingerprint": self.fingerprint.to_json()}


def take_stock(
    s3: S3Client,
    deployed: Deployed,
    *,
    prefix: str,
    since: datetime | None = None,
    pending_after: datetime | None = None,
    every_rendition: bool = False,
    progress: Progress | None = None,
) -> Stock:
    """List renditions, then uploads (in that order: see harness.drift.compare), read one rendition of each
    photo that has any and the tags of each photo that has none, and compare. `every_rendition` lists the
    whole processed bucket, which orphans need; otherwise only where the renditions of uploads under `prefix`
    can be."""
    track = progress or Progress(disable=True)
    listing = track.add_task("listing renditions", total=None)
    renditions: list[Listed] = []
    for where in ("",) if every_rendition else rendition_prefixes(deployed.rendition_names, prefix):
        for item in list_objects(s3, deployed.processed_bucket, where):
            renditions.append(item)
            track.advance(listing)
    track.update(listing, total=len(renditions))
    uploads: list[Listed] = []
    listing = track.add_task("listing uploads", total=None)
    for upload in list_uploads(s3, deployed.upload_bucket, prefix, since):
        uploads.append(upload)
        track.advance(listing)
    track.update(listing, total=len(uploads))
    targets = probe_targets(uploads, {item.key for item in renditions}, deployed.expected)
    reading = track.add_task("reading rendition metadata", total=len(targets))
    made = read_all_made(s3, deployed.processed_bucket, targets, advance=lambda n: track.advance(reading, n))
    bare = unrendered(uploads, {item.key for item in renditions}, deployed.expected)
    tagging = track.add_task("reading the tags of uploads without renditions", total=len(bare))
    rejected = read_all_rejections(
        s3, deployed.upload_bucket, bare, advance=lambda n: track.advance(tagging, n)
    )
    fingerprint = deployed_fingerprint(s3, deployed, renditions)
    drift = compare(uploads, renditions, deployed.expected, made, fingerprint.value, pending_after, rejected)
    return Stock(drift, fingerprint)
