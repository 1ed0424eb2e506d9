"""Rendition keys: `<rendition>/<source key without extension>.<extension>`."""

from __future__ import annotations

import pytest

from handler.config import Settings
from handler.keys import content_type_for, extension_for, key_fits, rendition_key, rendition_keys


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("photos/a.jpg", "large/photos/a.jpg"),
        ("photos/a.JPEG", "large/photos/a.jpg"),
        ("photos/a.b.png", "large/photos/a.b.jpg"),
        ("photos.v2/IMG.0002/raw", "large/photos.v2/IMG.0002/raw.jpg"),
        ("IMG_0001", "large/IMG_0001.jpg"),
        ("my photos/summer day 1.heic", "large/my photos/summer day 1.jpg"),
        ("dir/.hidden", "large/dir/.hidden.jpg"),
    ],
)
def test_the_source_extension_is_replaced_and_the_path_kept(source: str, expected: str) -> None:
    assert rendition_key("large", source, "jpg") == expected


@pytest.mark.parametrize(
    ("fmt", "extension", "content_type"),
    [("JPEG", "jpg", "image/jpeg"), ("webp", "webp", "image/webp"), ("AVIF", "avif", "image/avif")],
)
def test_each_output_format_has_one_extension_and_content_type(
    fmt: str, extension: str, content_type: str
) -> None:
    assert (extension_for(fmt), content_type_for(fmt)) == (extension, content_type)


def test_an_unknown_format_has_no_extension() -> None:
    with pytest.raises(ValueError, match="GIF"):
        extension_for("GIF")


def test_key_length_is_counted_in_utf8_bytes() -> None:
    assert key_fits("a" * 1024)
    assert not key_fits("é" * 513)


def test_the_default_settings_keep_the_two_keys_of_old() -> None:
    settings = Settings(processed_bucket="processed", error_topic_arn="")
    assert rendition_keys(settings, "albums/a.png") == ("large/albums/a.jpg", "thumbnail/albums/a.jpg")
