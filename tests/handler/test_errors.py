"""Failures the handler names: a bad input carries its type and reason; a missing object is gone.

Whether a failure is retried is one rule, written in handler/errors.py and specified end to end in
tests/handler/test_app.py (faults injected on the real clients).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from handler.errors import ErrorType, PermanentError, is_gone


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


def test_a_permanent_error_carries_its_type_and_reason() -> None:
    error = PermanentError(ErrorType.CORRUPT_IMAGE, "bad SOF")
    assert (error.error_type, error.reason) == ("CorruptImage", "bad SOF")
    assert str(error) == "CorruptImage: bad SOF"


@pytest.mark.parametrize("code", ["NoSuchKey", "NoSuchVersion", "NoSuchBucket"])
def test_a_missing_object_is_gone(code: str) -> None:
    assert is_gone(_client_error(code, 404))


@pytest.mark.parametrize(("code", "status"), [("SlowDown", 503), ("AccessDenied", 403)])
def test_throttling_and_denial_are_not_gone(code: str, status: int) -> None:
    assert not is_gone(_client_error(code, status))
