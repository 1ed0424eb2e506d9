"""The watcher looks for the renditions the deployed function writes, read from its own environment."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from handler.config import Settings
from handler.constants import EnvVar
from handler.keys import rendition_keys
from loadtests.layout import LayoutError, layout_of, read_layout

ENV = {EnvVar.PROCESSED_BUCKET: "processed"}


def test_a_function_with_the_default_settings_owes_a_large_and_a_thumbnail_jpeg() -> None:
    layout = layout_of(ENV, "fn")
    assert layout.keys("loadtest/r1/a.png") == ("large/loadtest/r1/a.jpg", "thumbnail/loadtest/r1/a.jpg")
    assert layout.prefixes("loadtest/r1/") == ("large/loadtest/r1/", "thumbnail/loadtest/r1/")


def test_a_function_with_its_own_renditions_and_formats_owes_each_rendition_in_each_format() -> None:
    env = {**ENV, EnvVar.RENDITIONS: "large=1024x768,medium=640x640", EnvVar.OUTPUT_FORMATS: "JPEG,WEBP"}
    layout = layout_of(env, "fn")
    assert layout.keys("r1/a.png") == (
        "large/r1/a.jpg",
        "large/r1/a.webp",
        "medium/r1/a.jpg",
        "medium/r1/a.webp",
    )
    assert layout.prefixes("r1/") == ("large/r1/", "medium/r1/")


def test_the_keys_are_the_handlers_own_list_for_the_functions_settings() -> None:
    env = {**ENV, EnvVar.OUTPUT_QUALITY: "70"}
    assert layout_of(env, "fn").keys("a/b.jpg") == rendition_keys(Settings.from_env(env), "a/b.jpg")


def test_an_environment_the_handler_would_refuse_is_refused_with_the_function_and_the_variable() -> None:
    with pytest.raises(LayoutError, match=r"function fn's environment cannot be read: OUTPUT_QUALITY='high'"):
        layout_of({**ENV, EnvVar.OUTPUT_QUALITY: "high"}, "fn")


class _Denied:
    def get_function_configuration(self, **_kwargs: Any) -> dict[str, Any]:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetFunctionConfiguration"
        )


def test_a_configuration_that_cannot_be_read_is_refused_never_guessed() -> None:
    with pytest.raises(LayoutError, match=r"cannot read the configuration of function fn \(.*AccessDenied"):
        read_layout(_Denied(), "fn")
