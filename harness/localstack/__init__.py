"""The embedded local stack: moto on 127.0.0.1, the real deploy, the skipped properties wired, and a local
Lambda runtime running the built zip.

`LocalStack` is imported on first use, so that the moto server's own process
(`python -m harness.localstack.serve`) starts without the deploy code, boto3 and the runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.localstack.stack import LocalStack

__all__ = ["LocalStack"]


def __getattr__(name: str) -> Any:
    if name == "LocalStack":
        from harness.localstack.stack import LocalStack

        return LocalStack
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
