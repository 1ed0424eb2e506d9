"""What can go wrong with one record, and the one rule for whether it is retried.

The rule (handler.app.Pipeline.handle_notice applies it; tests/handler/test_app.py specifies it):
- a PermanentError (the photo or the event itself is bad) is acknowledged and notified once: retrying a
  corrupt photo only burns money and delays the DLQ alarm;
- nothing to process (the object is gone, the event is older than the stored rendition, a test event) is
  skipped;
- everything else is retried through SQS: throttling, 5xx, timeouts, a denied permission, an AWS answer no
  rule foresaw, a decoder out of memory. None of these says the photo is bad, and a wrong rejection would drop
  a good photo, whereas a wrong retry costs a few attempts and ends in the DLQ with a RetriesExhausted notice,
  from where a redrive after the fix processes it.
"""

from __future__ import annotations

from enum import StrEnum

from botocore.exceptions import ClientError


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


class DecoderOutOfMemoryError(Exception):
    """A decoder could not allocate memory for a photo within the pixel and byte limits.

    Not a corrupt photo, and not a property of the photo at all: the limits are chosen so that every accepted
    input fits the smallest allowed MemorySize (handler/capacity.py), so running out means the container's
    memory was short (fragmented by earlier photos, or a MemorySize below what was measured). That is a
    deployment limit like a missing permission: the record is retried (a fresh container usually has the
    memory), and if every attempt fails it is notified as RetriesExhausted with this reason and kept in the
    DLQ, from where a redrive after raising MemorySize processes it. Rejecting it would lose a good photo.
    """


# S3's answers for an object, version or bucket that does not exist: GET, PUT and tagging name it; a HEAD has
# no body, so botocore gives only its status ("404", or "NotFound"). The one list, for the handler and the
# harness alike.
GONE_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchBucket", "404", "NotFound"})


def error_code(exc: BaseException) -> str | None:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def is_gone(exc: BaseException) -> bool:
    """True when S3 says the object (or version, or bucket) does not exist."""
    return error_code(exc) in GONE_CODES
