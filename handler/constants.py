"""Names shared by the handler, the template tests, the local stack, the load report and the dashboard check.

Each fact lives here once: the template is hand-kept JSON, so tests compare it against these values instead of
the template inventing its own spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class EnvVar(StrEnum):
    """Environment variables the function reads (all of them, including those read by Powertools)."""

    PROCESSED_BUCKET = "PROCESSED_BUCKET"
    ERROR_TOPIC_ARN = "ERROR_TOPIC_ARN"
    RENDITIONS = "RENDITIONS"
    OUTPUT_FORMATS = "OUTPUT_FORMATS"
    OUTPUT_QUALITY = "OUTPUT_QUALITY"
    MAX_INPUT_BYTES = "MAX_INPUT_BYTES"
    MAX_PIXELS = "MAX_PIXELS"
    MAX_RECEIVE_COUNT = "MAX_RECEIVE_COUNT"
    DELETION_PROPAGATION = "DELETION_PROPAGATION"
    POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
    POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
    POWERTOOLS_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"


class MetricName(StrEnum):
    """Metrics the handler emits as CloudWatch EMF (never PutMetricData)."""

    PROCESSED_IMAGES = "ProcessedImages"
    PROCESSING_ERRORS = "ProcessingErrors"
    PROCESSING_TIME = "ProcessingTime"
    END_TO_END_LATENCY = "EndToEndLatency"
    INPUT_BYTES = "InputBytes"
    OUTPUT_BYTES = "OutputBytes"
    SKIPPED_OBJECTS = "SkippedObjects"
    PROCESSED_DELETIONS = "ProcessedDeletions"


class SkipReason(StrEnum):
    """Values of the Reason dimension of SkippedObjects: records that are not photos to process."""

    TEST_EVENT = "TestEvent"
    NOT_A_CREATE_EVENT = "NotACreateEvent"
    OBJECT_GONE = "ObjectGone"
    STALE = "Stale"
    STALE_REMOVAL = "StaleRemoval"


METRICS_NAMESPACE: Final = "Photopipe"
# Every metric carries the Powertools default dimension `service`, set to the stack name by the template so
# that two stacks in one account never mix their figures.
SERVICE_DIMENSION: Final = "service"
ERROR_TYPE_DIMENSION: Final = "ErrorType"
SKIP_REASON_DIMENSION: Final = "Reason"

HANDLER_ENTRY: Final = "handler.app.lambda_handler"

# The tag a rejected upload's version carries, its value the ErrorType (handler/rejection.py): `reconcile`
# reads it to tell a rejected photo, which has no renditions by design, from a missing one.
REJECTED_TAG_KEY: Final = "photopipe-rejected"


@dataclass(frozen=True, slots=True)
class RenditionSpec:
    """A named output box: the image is fitted inside width x height, never upscaled."""

    name: str
    width: int
    height: int


# Rendition metadata (x-amz-meta-*): when the handler started the write of that rendition (ISO 8601, UTC, in
# milliseconds). The load test reads it back as the photo's completion time instead of timing its own polls.
RENDITION_WRITTEN_AT_METADATA: Final = "written-at"

# Rendition names are the first path segment of every output key: `<rendition>/<key without extension>.<ext>`.
LARGE_RENDITION: Final = "large"
THUMBNAIL_RENDITION: Final = "thumbnail"

# The Renditions parameter and the RENDITIONS variable: `name=WxH` entries joined by commas (handler.config
# parses them). The defaults are the two renditions, and so the keys, the pipeline has always written.
DEFAULT_RENDITIONS: Final = (
    RenditionSpec(LARGE_RENDITION, 1024, 768),
    RenditionSpec(THUMBNAIL_RENDITION, 256, 256),
)
RENDITION_NAME_PATTERN: Final = "[a-z][a-z0-9-]{0,31}"  # a key's first segment, and an IAM resource's
# Each rendition costs a resize, and an encode and a PUT per format; the role grants one prefix per entry.
MAX_RENDITIONS: Final = 5
# A box's sides: 32 px is the smallest thumbnail ever offered, 4096 px the largest box memory is sized for.
MIN_DIMENSION: Final = 32
MAX_DIMENSION: Final = 4096


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """One output format: everything the pipeline says about it, in one row.

    `name` is Pillow's format name and an OutputFormats value; `extension` ends the rendition's key;
    `content_type` is stored with it; `encoder_options` go to Pillow's encoder beside the quality;
    `carries_icc` says whether the sRGB profile is embedded (AVIF states sRGB in its own nclx box instead);
    `keeps_alpha` whether transparency survives (JPEG has none: it is composited on white).
    """

    name: str
    extension: str
    content_type: str
    encoder_options: dict[str, object]
    carries_icc: bool
    keeps_alpha: bool


# WebP's method 4 and AVIF's speed 8 keep the encoders affordable on one Lambda vCPU; AVIF runs
# single-threaded so that its output bytes do not depend on the machine's core count. JPEG's Huffman tables
# are optimised.
OUTPUT_FORMAT_TABLE: Final = (
    OutputFormat("JPEG", "jpg", "image/jpeg", {"optimize": True}, carries_icc=True, keeps_alpha=False),
    OutputFormat("WEBP", "webp", "image/webp", {"method": 4}, carries_icc=True, keeps_alpha=True),
    OutputFormat(
        "AVIF",
        "avif",
        "image/avif",
        {"speed": 8, "max_threads": 1, "exif": b""},
        carries_icc=False,
        keeps_alpha=True,
    ),
)
OUTPUT_FORMATS: Final = tuple(f.name for f in OUTPUT_FORMAT_TABLE)
OUTPUT_FORMAT_BY_NAME: Final = {f.name: f for f in OUTPUT_FORMAT_TABLE}
# The OutputFormats parameter and the OUTPUT_FORMATS variable: each rendition is written in each format
# (e.g. JPEG,WEBP: a CDN can negotiate WebP with a JPEG fallback), so at most every format once.
DEFAULT_OUTPUT_FORMATS: Final = ("JPEG",)
MAX_OUTPUT_FORMATS: Final = len(OUTPUT_FORMAT_TABLE)
DEFAULT_OUTPUT_QUALITY: Final = 85
MIN_OUTPUT_QUALITY: Final = 1
MAX_OUTPUT_QUALITY: Final = 100

DEFAULT_MAX_INPUT_BYTES: Final = 50 * 1024 * 1024
DEFAULT_MAX_PIXELS: Final = 50_000_000
DEFAULT_MAX_RECEIVE_COUNT: Final = 5

# The DeletionPropagation parameter and the DELETION_PROPAGATION variable: whether a removed upload's
# renditions are deleted (handler/removal.py). Disabled is for those who archive renditions.
DELETION_PROPAGATION_ENABLED: Final = "Enabled"
DELETION_PROPAGATION_DISABLED: Final = "Disabled"
DELETION_PROPAGATION_VALUES: Final = (DELETION_PROPAGATION_ENABLED, DELETION_PROPAGATION_DISABLED)
