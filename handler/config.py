"""Settings read once at init from the function's environment.

A bad value fails the cold start with a message naming the variable, the value and what is allowed: a stack
misconfigured by hand shows up in the first invocation's log, not as thousands of odd renditions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from handler.constants import (
    DEFAULT_MAX_HEIGHT,
    DEFAULT_MAX_INPUT_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_RECEIVE_COUNT,
    DEFAULT_MAX_WIDTH,
    DEFAULT_OUTPUT_FORMAT,
    DEFAULT_OUTPUT_QUALITY,
    DEFAULT_THUMBNAIL_SIZE,
    LARGE_RENDITION,
    MAX_DIMENSION,
    MAX_OUTPUT_QUALITY,
    MAX_THUMBNAIL_SIZE,
    METRICS_NAMESPACE,
    MIN_DIMENSION,
    MIN_OUTPUT_QUALITY,
    MIN_THUMBNAIL_SIZE,
    OUTPUT_FORMATS,
    THUMBNAIL_RENDITION,
    EnvVar,
    RenditionSpec,
)
from handler.fingerprint import settings_fingerprint

# Bounds on the limits themselves: a limit of 0 would reject everything, one above these would let a single
# photo exhaust the function's memory.
MAX_INPUT_BYTES_CEILING = 512 * 1024 * 1024
MAX_PIXELS_CEILING = 50_000_000  # handler.imaging.limits.DECODE_PIXEL_LIMIT: what memory is sized for
MAX_RECEIVE_COUNT_CEILING = 1000


class ConfigError(ValueError):
    """An environment variable is missing or holds a value the function cannot work with."""


@dataclass(frozen=True, slots=True)
class Settings:
    processed_bucket: str
    error_topic_arn: str
    max_width: int = DEFAULT_MAX_WIDTH
    max_height: int = DEFAULT_MAX_HEIGHT
    thumbnail_size: int = DEFAULT_THUMBNAIL_SIZE
    output_format: str = DEFAULT_OUTPUT_FORMAT
    output_quality: int = DEFAULT_OUTPUT_QUALITY
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT
    service_name: str = "photopipe"
    metrics_namespace: str = METRICS_NAMESPACE

    @property
    def renditions(self) -> tuple[RenditionSpec, ...]:
        return (
            RenditionSpec(LARGE_RENDITION, self.max_width, self.max_height),
            RenditionSpec(THUMBNAIL_RENDITION, self.thumbnail_size, self.thumbnail_size),
        )

    @property
    def output_formats(self) -> tuple[str, ...]:
        """Each rendition is written once in each of these formats."""
        return (self.output_format,)

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
        fmt = env.get(EnvVar.OUTPUT_FORMAT, DEFAULT_OUTPUT_FORMAT).strip().upper()
        if fmt not in OUTPUT_FORMATS:
            raise ConfigError(
                f"{EnvVar.OUTPUT_FORMAT}={env.get(EnvVar.OUTPUT_FORMAT)!r} is not allowed: "
                f"expected one of {', '.join(OUTPUT_FORMATS)}"
            )
        return cls(
            processed_bucket=bucket,
            error_topic_arn=topic,
            max_width=_int(env, EnvVar.MAX_WIDTH, DEFAULT_MAX_WIDTH, MIN_DIMENSION, MAX_DIMENSION),
            max_height=_int(env, EnvVar.MAX_HEIGHT, DEFAULT_MAX_HEIGHT, MIN_DIMENSION, MAX_DIMENSION),
            thumbnail_size=_int(
                env, EnvVar.THUMBNAIL_SIZE, DEFAULT_THUMBNAIL_SIZE, MIN_THUMBNAIL_SIZE, MAX_THUMBNAIL_SIZE
            ),
            output_format=fmt,
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
        )


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
