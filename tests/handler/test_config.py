"""Settings come from the environment once, and a bad value names itself."""

from __future__ import annotations

import pytest

from handler.config import ConfigError, Settings, parse_renditions, renditions_value
from handler.constants import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_OUTPUT_FORMATS,
    DEFAULT_RENDITIONS,
    LARGE_RENDITION,
    MAX_DIMENSION,
    MAX_RENDITIONS,
    MIN_DIMENSION,
    OUTPUT_FORMATS,
    THUMBNAIL_RENDITION,
    EnvVar,
    RenditionSpec,
)

BASE = {EnvVar.PROCESSED_BUCKET.value: "processed"}


def test_defaults_give_the_large_box_and_a_square_thumbnail_in_jpeg() -> None:
    settings = Settings.from_env(BASE)
    assert settings.renditions == (
        RenditionSpec(LARGE_RENDITION, 1024, 768),
        RenditionSpec(THUMBNAIL_RENDITION, 256, 256),
    )
    assert settings.renditions == DEFAULT_RENDITIONS
    assert (settings.output_formats, settings.max_pixels, settings.error_topic_arn) == (
        ("JPEG",),
        DEFAULT_MAX_PIXELS,
        "",
    )
    assert settings.output_formats == DEFAULT_OUTPUT_FORMATS


def test_values_are_read_from_their_variables() -> None:
    env = {
        **BASE,
        "RENDITIONS": "large=2048x1536, medium=640x640,thumbnail=128x128",
        "OUTPUT_FORMATS": "webp,JPEG",
        "OUTPUT_QUALITY": "70",
        "MAX_INPUT_BYTES": "1000",
        "MAX_PIXELS": "2000",
        "MAX_RECEIVE_COUNT": "3",
        "ERROR_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:errors",
        "POWERTOOLS_SERVICE_NAME": "stack",
    }
    s = Settings.from_env(env)
    assert s.renditions == (
        RenditionSpec("large", 2048, 1536),
        RenditionSpec("medium", 640, 640),
        RenditionSpec("thumbnail", 128, 128),
    )
    assert (s.output_formats, s.output_quality) == (("WEBP", "JPEG"), 70)
    assert (s.max_input_bytes, s.max_pixels, s.max_receive_count, s.service_name) == (1000, 2000, 3, "stack")


def test_the_parameter_spelling_reads_back_as_the_same_renditions() -> None:
    assert renditions_value(DEFAULT_RENDITIONS) == "large=1024x768,thumbnail=256x256"
    assert parse_renditions(renditions_value(DEFAULT_RENDITIONS)) == DEFAULT_RENDITIONS


def test_settings_are_frozen() -> None:
    settings = Settings.from_env(BASE)
    with pytest.raises(AttributeError):
        settings.output_quality = 1  # type: ignore[misc]


SIX = ",".join(f"r{n}=100x100" for n in range(MAX_RENDITIONS + 1))


@pytest.mark.parametrize(
    ("var", "value", "why"),
    [
        ("RENDITIONS", "large", "the entry 'large' is not name=WIDTHxHEIGHT"),
        ("RENDITIONS", "large=1024", "the entry 'large=1024' is not name=WIDTHxHEIGHT"),
        ("RENDITIONS", "Large=1024x768", "the entry 'Large=1024x768' is not name=WIDTHxHEIGHT"),
        ("RENDITIONS", "2x=1024x768", "the entry '2x=1024x768' is not name=WIDTHxHEIGHT"),
        ("RENDITIONS", "large=1024x768,", "the entry '' is not name=WIDTHxHEIGHT"),
        ("RENDITIONS", f"{'a' * 33}=100x100", "is not name=WIDTHxHEIGHT"),
        ("RENDITIONS", "a=100x100,b=200x200,a=300x300", "the name 'a' is used twice"),
        (
            "RENDITIONS",
            f"tiny={MIN_DIMENSION - 1}x64",
            f"tiny's side of {MIN_DIMENSION - 1} px is out of range",
        ),
        (
            "RENDITIONS",
            f"huge=100x{MAX_DIMENSION + 1}",
            f"huge's side of {MAX_DIMENSION + 1} px is out of range",
        ),
        ("RENDITIONS", SIX, f"{MAX_RENDITIONS + 1} renditions, more than {MAX_RENDITIONS}"),
        ("OUTPUT_FORMATS", "GIF", "'GIF' is not an output format"),
        ("OUTPUT_FORMATS", "JPEG,,WEBP", "'' is not an output format"),
        ("OUTPUT_FORMATS", "JPEG,jpeg", "a format is named twice"),
    ],
)
def test_a_bad_list_says_what_is_wrong(var: str, value: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, var: value})
    assert why in str(caught.value)


@pytest.mark.parametrize(
    ("var", "value", "allowed"),
    [
        ("RENDITIONS", "large", f"up to {MAX_RENDITIONS} entries name=WIDTHxHEIGHT joined by commas"),
        ("RENDITIONS", "x=1x1", f"each side from {MIN_DIMENSION} to {MAX_DIMENSION}"),
        ("OUTPUT_QUALITY", "0", "integer from 1 to 100"),
        ("OUTPUT_FORMATS", "GIF", ", ".join(OUTPUT_FORMATS)),
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
