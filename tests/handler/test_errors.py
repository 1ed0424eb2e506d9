"""Which failures are worth a retry."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from handler.errors import ErrorType, PermanentError, TransientError, classify, is_gone


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("InternalError", 500),
        ("ServiceUnavailable", 503),
        ("SlowDown", 503),
        ("Throttled", 429),
        ("RequestTimeout", 400),
        ("AccessDenied", 403),
        ("KMS.KMSAccessDeniedException", 400),
        ("SomethingNew", 502),
    ],
)
def test_throttling_server_errors_and_permission_gaps_are_transient(code: str, status: int) -> None:
    assert classify(_client_error(code, status)) == "transient"


@pytest.mark.parametrize(("code", "status"), [("InvalidArgument", 400), ("KeyTooLongError", 400)])
def test_other_client_errors_are_permanent(code: str, status: int) -> None:
    assert classify(_client_error(code, status)) == "permanent"


@pytest.mark.parametrize(
    "exc",
    [
        ReadTimeoutError(endpoint_url="https://s3"),
        ConnectTimeoutError(endpoint_url="https://s3"),
        EndpointConnectionError(endpoint_url="https://s3"),
        TransientError("later"),
        RuntimeError("unforeseen"),
    ],
)
def test_network_failures_and_the_unforeseen_are_transient(exc: Exception) -> None:
    assert classify(exc) == "transient"


def test_a_permanent_error_carries_its_type_and_reason() -> None:
    error = PermanentError(ErrorType.CORRUPT_IMAGE, "bad SOF")
    assert classify(error) == "permanent"
    assert (error.error_type, error.reason) == ("CorruptImage", "bad SOF")


@pytest.mark.parametrize("code", ["NoSuchKey", "NoSuchVersion", "NoSuchBucket"])
def test_a_missing_object_is_gone(code: str) -> None:
    assert is_gone(_client_error(code, 404))


def test_throttling_is_not_gone() -> None:
    assert not is_gone(_client_error("SlowDown", 503))
