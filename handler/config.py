"""Settings read once at init from the function's environment.

A bad value fails the cold start with a message naming the variable, the value and what is allowed: a stack
misconfigured by hand shows up in the first invocation's log, not as thousands of odd renditions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from handler.constants import (
    DEFAULT_MAX_INPUT_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_RECEIVE_COUNT,
    DEFAULT_OUTPUT_FORMATS,
    DEFAULT_OUTPUT_QUALITY,
    DEFAULT_RENDITIONS,
    DELETION_PROPAGATION_ENABLED,
    DELETION_PROPAGATION_VALUES,
    MAX_DIMENSION,
    MAX_OUTPUT_FORMATS,
    MAX_OUTPUT_QUALITY,
    MAX_RENDITIONS,
    METRICS_NAMESPACE,
    MIN_DIMENSION,
    MIN_OUTPUT_QUALITY,
    OUTPUT_FORMATS,
    RENDITION_NAME_PATTERN,
    EnvVar,
    RenditionSpec,
)
from handler.fingerprint import settings_fingerprint

# Bounds on the limits themselves: a limit of 0 would reject everything, one above these would let a single
# photo exhaust the function's memory.
MAX_INPUT_BYTES_CEILING = 512 * 1024 * 1024
MAX_PIXELS_CEILING = 50_000_000  # handler.imaging.limits.DECODE_PIXEL_LIMIT: what memory is sized for
MAX_RECEIVE_COUNT_CEILING = 1000

T = TypeVar("T")


class ConfigError(ValueError):
    """An environment variable is missing or holds a value the function cannot work with."""


@dataclass(frozen=True, slots=True)
class Settings:
    processed_bucket: str
    error_topic_arn: str
    renditions: tuple[RenditionSpec, ...] = DEFAULT_RENDITIONS
    output_formats: tuple[str, ...] = DEFAULT_OUTPUT_FORMATS  # each rendition is written in each format
    output_quality: int = DEFAULT_OUTPUT_QUALITY
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT
    deletion_propagation: bool = True  # handler/removal.py: a removed upload loses its renditions
    service_name: str = "photopipe"
    metrics_namespace: str = METRICS_NAMESPACE

    @property
    def fingerprint(self) -> str:
        """What made a rendition (handler/fingerprint.py): stored with each one, compared by the guard."""
        return settings_fingerprint(self.renditions, self.output_formats, self.output_quality)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        bucket = env.get(EnvVar.PROCESSED_BUCKET, "").strip()
        if not bucket:
            raise ConfigError(f"{EnvVar.PROCESSED_BUCKET} is required: the bucket renditions are written to")
        topic = env.get(EnvVar.ERROR_TOPIC_ARN, "").strip()
        if topic and not topic.startswith("arn:"):
            raise ConfigError(f"{EnvVar.ERROR_TOPIC_ARN}={topic!r} is not allowed: expected an SNS topic ARN")
        return cls(
            processed_bucket=bucket,
            error_topic_arn=topic,
            renditions=_listed(
                env, EnvVar.RENDITIONS, parse_renditions, RENDITIONS_GRAMMAR, DEFAULT_RENDITIONS
            ),
            output_formats=_listed(
                env,
                EnvVar.OUTPUT_FORMATS,
                parse_output_formats,
                OUTPUT_FORMATS_GRAMMAR,
                DEFAULT_OUTPUT_FORMATS,
            ),
            output_quality=_int(
                env, EnvVar.OUTPUT_QUALITY, DEFAULT_OUTPUT_QUALITY, MIN_OUTPUT_QUALITY, MAX_OUTPUT_QUALITY
            ),
            max_input_bytes=_int(
                env, EnvVar.MAX_INPUT_BYTES, DEFAULT_MAX_INPUT_BYTES, 1, MAX_INPUT_BYTES_CEILING
            ),
            max_pixels=_int(env, EnvVar.MAX_PIXELS, DEFAULT_MAX_PIXELS, 1, MAX_PIXELS_CEILING),
            max_receive_count=_int(
                env, EnvVar.MAX_RECEIVE_COUNT, DEFAULT_MAX_RECEIVE_COUNT, 1, MAX_RECEIVE_COUNT_CEILING
            ),
            service_name=env.get(EnvVar.POWERTOOLS_SERVICE_NAME, "").strip() or "photopipe",
            metrics_namespace=env.get(EnvVar.POWERTOOLS_METRICS_NAMESPACE, "").strip() or METRICS_NAMESPACE,
            deletion_propagation=_deletion_propagation(env),
        )


RENDITIONS_GRAMMAR = (
    f"up to {MAX_RENDITIONS} entries name=WIDTHxHEIGHT joined by commas "
    f"(e.g. large=1024x768,thumbnail=256x256), each name {RENDITION_NAME_PATTERN} and used once, "
    f"each side from {MIN_DIMENSION} to {MAX_DIMENSION}"
)
OUTPUT_FORMATS_GRAMMAR = (
    f"1 to {MAX_OUTPUT_FORMATS} of {', '.join(OUTPUT_FORMATS)} joined by commas (e.g. JPEG,WEBP), each once"
)
_ENTRY = re.compile(rf"({RENDITION_NAME_PATTERN})=([0-9]+)x([0-9]+)")


def parse_renditions(raw: str) -> tuple[RenditionSpec, ...]:
    """`large=1024x768,thumbnail=256x256` as RenditionSpecs, in the given order; ValueError saying why not."""
    entries = [entry.strip() for entry in raw.split(",")]
    if len(entries) > MAX_RENDITIONS:
        raise ValueError(f"{len(entries)} renditions, more than {MAX_RENDITIONS}")
    specs: list[RenditionSpec] = []
    for entry in entries:
        match = _ENTRY.fullmatch(entry)
        if match is None:
            raise ValueError(f"the entry {entry!r} is not name=WIDTHxHEIGHT")
        name, width, height = match[1], int(match[2]), int(match[3])
        if any(spec.name == name for spec in specs):
            raise ValueError(f"the name {name!r} is used twice")
        for side in (width, height):
            if not MIN_DIMENSION <= side <= MAX_DIMENSION:
                raise ValueError(f"{name}'s side of {side} px is out of range")
        specs.append(RenditionSpec(name, width, height))
    return tuple(specs)


def renditions_value(specs: tuple[RenditionSpec, ...]) -> str:
    """How the Renditions parameter and the RENDITIONS variable spell `specs` (parse_renditions' inverse)."""
    return ",".join(f"{spec.name}={spec.width}x{spec.height}" for spec in specs)


def parse_output_formats(raw: str) -> tuple[str, ...]:
    """`JPEG,WEBP` as format names (case ignored), in the given order; ValueError saying why not."""
    formats = [entry.strip().upper() for entry in raw.split(",")]
    unknown = [fmt for fmt in formats if fmt not in OUTPUT_FORMATS]
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not an output format")
    if len(set(formats)) != len(formats):
        raise ValueError("a format is named twice")
    return tuple(formats)


def _listed(env: Mapping[str, str], var: EnvVar, parse: Callable[[str], T], grammar: str, default: T) -> T:
    raw = env.get(var)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw.strip())
    except ValueError as exc:
        raise ConfigError(f"{var}={raw!r} is not allowed ({exc}): expected {grammar}") from None


def _int(env: Mapping[str, str], var: EnvVar, default: int, low: int, high: int) -> int:
    raw = env.get(var)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip(), 10)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not allowed: expected an integer from {low} to {high}") from None
    if not low <= value <= high:
        raise ConfigError(f"{var}={raw!r} is not allowed: expected an integer from {low} to {high}")
    return value


def _deletion_propagation(env: Mapping[str, str]) -> bool:
    raw = env.get(EnvVar.DELETION_PROPAGATION)
    if raw is None or raw.strip() == "":
        return True
    if raw.strip() not in DELETION_PROPAGATION_VALUES:
        raise ConfigError(
            f"{EnvVar.DELETION_PROPAGATION}={raw!r} is not allowed: expected "
            f"{' or '.join(DELETION_PROPAGATION_VALUES)}"
        )
    return raw.strip() == DELETION_PROPAGATION_ENABLED
