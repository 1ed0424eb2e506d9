"""What can go wrong with one record, and whether retrying could ever help.

The split matters more than the detail: a permanent error is acknowledged and notified once (retrying a
corrupt photo only burns money and delays the DLQ alarm), a transient one goes back to SQS and is retried.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from botocore.exceptions import BotoCoreError, ClientError


class ErrorType(StrEnum):
    """Values of the ErrorType metric dimension and of the `errorType` field of error notifications."""

    NOT_AN_IMAGE = "NotAnImage"
    UNSUPPORTED_FORMAT = "UnsupportedFormat"
    CORRUPT_IMAGE = "CorruptImage"
    TRUNCATED_IMAGE = "TruncatedImage"
    TOO_MANY_PIXELS = "TooManyPixels"
    TOO_MANY_BYTES = "TooManyBytes"
    EMPTY_OBJECT = "EmptyObject"
    MALFORMED_EVENT = "MalformedEvent"
    KEY_TOO_LONG = "KeyTooLong"
    RETRIES_EXHAUSTED = "RetriesExhausted"


class PermanentError(Exception):
    """The input itself is bad: no retry can succeed."""

    def __init__(self, error_type: ErrorType, reason: str) -> None:
        super().__init__(f"{error_type}: {reason}")
        self.error_type = error_type
        self.reason = reason


class TransientError(Exception):
    """A dependency failed in a way that a later attempt may not."""


class DecoderOutOfMemoryError(TransientError):
    """A decoder could not allocate memory for a photo within the pixel and byte limits.

    Not a corrupt photo, and not a property of the photo at all: the limits are chosen so that every accepted
    input fits the smallest allowed MemorySize (handler/capacity.py), so running out means the container's
    memory was short (fragmented by earlier photos, or a MemorySize below what was measured). That is a
    deployment limit like a missing permission: the record is retried (a fresh container usually has the
    memory), and if every attempt fails it is notified as RetriesExhausted with this reason and kept in the
    DLQ, from where a redrive after raising MemorySize processes it. Rejecting it would lose a good photo.
    """


# Codes that say "try again later", whatever their HTTP status.
_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "Throttled",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "KMSThrottlingException",
        "KMS.ThrottlingException",
        # A missing permission or key grant is a deployment fault that a fix and a DLQ redrive repair:
        # acknowledging the record would lose the photo.
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "KMSAccessDeniedException",
        "KMS.KMSAccessDeniedException",
        "InvalidAccessKeyId",
        "ExpiredToken",
        "ExpiredTokenException",
        "NotFound",
    }
)

# Codes that mean the object is no longer there to process: a skip, not an error.
GONE_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchBucket", "404"})


def error_code(exc: BaseException) -> str | None:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def is_gone(exc: BaseException) -> bool:
    """True when S3 says the object (or version, or bucket) does not exist."""
    return error_code(exc) in GONE_CODES


def classify(exc: BaseException) -> Literal["permanent", "transient"]:
    """Whether retrying the call that raised `exc` could succeed.

    Unknown failures count as transient: the worst case is a few retries and a DLQ message with a
    RetriesExhausted notification, whereas a wrong "permanent" would drop a photo silently.
    """
    if isinstance(exc, PermanentError):
        return "permanent"
    if isinstance(exc, ClientError):
        code = error_code(exc) or ""
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _TRANSIENT_CODES or status >= 500 or status in (408, 429) or status == 0:
            return "transient"
        return "permanent"
    if isinstance(exc, BotoCoreError | TransientError | OSError | TimeoutError):
        return "transient"
    return "transient"
