"""The Lambda context a test passes to the handler: Powertools' typed `LambdaContext`, filled in.

Powertools' class only declares the attributes (and answers 0 ms left, which would make the handler hand
every record back unstarted), so the values a test needs are set here, once.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

ACCOUNT = "123456789012"
REGION = "us-east-1"
FUNCTION_NAME = "photopipe-test-function"
MEMORY_MB = 1024
# Lambda's longest timeout: the handler never runs short of time unless a test says so.
REMAINING_MS = 900_000


class InvocationContext(LambdaContext):
    """One invocation's context; `remaining_ms` is what `get_remaining_time_in_millis` answers."""

    def __init__(self, request_id: str = "req-0001", *, remaining_ms: int = REMAINING_MS) -> None:
        self._function_name = FUNCTION_NAME
        self._function_version = "$LATEST"
        self._invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION_NAME}"
        self._memory_limit_in_mb = MEMORY_MB
        self._aws_request_id = request_id
        self._log_group_name = f"/aws/lambda/{FUNCTION_NAME}"
        self._log_stream_name = "2026/11/29/[$LATEST]0123456789abcdef"
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return self.remaining_ms
