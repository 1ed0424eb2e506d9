"""The embedded local stack: moto on 127.0.0.1, the real deploy, the skipped properties wired, and a local
Lambda runtime running the built zip.

`EmbeddedStack` is imported on first use, so that the moto server's own process
(`python -m harness.emulator.serve`) starts without the deploy code, boto3 and the runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.emulator.stack import EmbeddedStack

__all__ = ["EmbeddedStack"]


def __getattr__(name: str) -> Any:
    if name == "EmbeddedStack":
        from harness.emulator.stack import EmbeddedStack

        return EmbeddedStack
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
