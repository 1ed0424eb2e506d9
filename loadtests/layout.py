"""Which rendition keys a photo owes, read from the deployed function's own environment.

The watcher decides "processed" by finding renditions, so it must look for exactly the keys the function
writes: the renditions and output formats the stack was deployed with, parsed by the handler's own settings
(the same code, the same refusals). A configuration it cannot read is refused: guessing a format would report
every photo of a stack that writes another one as lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.config import ConfigError, Settings
from handler.keys import rendition_keys


class LayoutError(Exception):
    """The function's configuration cannot be read or parsed; the message says which and why."""


@dataclass(frozen=True)
class RenditionLayout:
    """The rendition keys of one stack's photos."""

    settings: Settings

    def keys(self, source_key: str) -> tuple[str, ...]:
        """Every rendition key of one upload, in the handler's order."""
        return rendition_keys(self.settings, source_key)

    def prefixes(self, source_prefix: str) -> tuple[str, ...]:
        """The listing prefixes that hold every rendition of the uploads under `source_prefix`."""
        return tuple(f"{rendition.name}/{source_prefix}" for rendition in self.settings.renditions)


def layout_of(environment: Mapping[str, str], function_name: str) -> RenditionLayout:
    try:
        return RenditionLayout(Settings.from_env(environment))
    except ConfigError as exc:
        raise LayoutError(f"function {function_name}'s environment cannot be read: {exc}") from None


def read_layout(lambda_client: Any, function_name: str) -> RenditionLayout:
    """The layout of the deployed function `function_name` (one GetFunctionConfiguration)."""
    try:
        config = lambda_client.get_function_configuration(FunctionName=function_name)
    except (ClientError, BotoCoreError) as exc:
        raise LayoutError(
            f"cannot read the configuration of function {function_name} ({exc}); the watcher needs its "
            "renditions and output formats (allow lambda:GetFunctionConfiguration)"
        ) from None
    environment: dict[str, str] = config.get("Environment", {}).get("Variables", {})
    return layout_of(environment, function_name)
