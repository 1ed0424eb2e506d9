"""Settings come from the environment once, and a bad value names itself."""

from __future__ import annotations

import pytest

from handler.config import ConfigError, Settings
from handler.constants import (
    DEFAULT_MAX_HEIGHT,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_WIDTH,
    DEFAULT_THUMBNAIL_SIZE,
    LARGE_RENDITION,
    THUMBNAIL_RENDITION,
    EnvVar,
    RenditionSpec,
)

BASE = {EnvVar.PROCESSED_BUCKET.value: "processed"}


def test_defaults_give_the_large_box_and_a_square_thumbnail() -> None:
    settings = Settings.from_env(BASE)
    assert settings.renditions == (
        RenditionSpec(LARGE_RENDITION, DEFAULT_MAX_WIDTH, DEFAULT_MAX_HEIGHT),
        RenditionSpec(THUMBNAIL_RENDITION, DEFAULT_THUMBNAIL_SIZE, DEFAULT_THUMBNAIL_SIZE),
    )
    assert (settings.output_format, settings.max_pixels, settings.error_topic_arn) == (
        "JPEG",
        DEFAULT_MAX_PIXELS,
        "",
    )


def test_values_are_read_from_their_variables() -> None:
    env = {
        **BASE,
        "MAX_WIDTH": "2048",
        "MAX_HEIGHT": "1536",
        "THUMBNAIL_SIZE": "128",
        "OUTPUT_FORMAT": "webp",
        "OUTPUT_QUALITY": "70",
        "MAX_INPUT_BYTES": "1000",
        "MAX_PIXELS": "2000",
        "MAX_RECEIVE_COUNT": "3",
        "ERROR_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:errors",
        "POWERTOOLS_SERVICE_NAME": "stack",
    }
    s = Settings.from_env(env)
    assert (s.max_width, s.max_height, s.thumbnail_size, s.output_format, s.output_quality) == (
        2048,
        1536,
        128,
        "WEBP",
        70,
    )
    assert (s.max_input_bytes, s.max_pixels, s.max_receive_count, s.service_name) == (1000, 2000, 3, "stack")


def test_settings_are_frozen() -> None:
    settings = Settings.from_env(BASE)
    with pytest.raises(AttributeError):
        settings.max_width = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("var", "value", "allowed"),
    [
        ("MAX_WIDTH", "wide", "integer from 100 to 4096"),
        ("MAX_WIDTH", "99", "integer from 100 to 4096"),
        ("THUMBNAIL_SIZE", "2000", "integer from 32 to 1024"),
        ("OUTPUT_QUALITY", "0", "integer from 1 to 100"),
        ("OUTPUT_FORMAT", "GIF", "JPEG, WEBP, AVIF"),
        ("MAX_PIXELS", "-5", "integer from 1"),
        ("ERROR_TOPIC_ARN", "errors", "SNS topic ARN"),
    ],
)
def test_a_bad_value_names_the_variable_the_value_and_what_is_allowed(
    var: str, value: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, var: value})
    message = str(caught.value)
    assert var in message
    assert repr(value) in message
    assert allowed in message


def test_the_processed_bucket_is_required() -> None:
    with pytest.raises(ConfigError, match="PROCESSED_BUCKET"):
        Settings.from_env({})
