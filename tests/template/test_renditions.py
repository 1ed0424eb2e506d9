"""The Renditions and OutputFormats parameters: the handler's grammar, passed on, and granted by name."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from handler.config import (
    OUTPUT_FORMATS_GRAMMAR,
    RENDITIONS_GRAMMAR,
    parse_output_formats,
    parse_renditions,
    renditions_value,
)
from handler.constants import (
    DEFAULT_OUTPUT_FORMATS,
    DEFAULT_RENDITIONS,
    MAX_DIMENSION,
    MAX_RENDITIONS,
    MIN_DIMENSION,
    EnvVar,
)
from tests.support.cfn import resolve_value

GRANT = "ReadAndWriteRenditions"
PROCESSED_ARN = "ProcessedBucket-Arn"  # what tests/support/cfn.py makes of ${ProcessedBucket.Arn}


def _parameter(template: dict[str, Any], name: str) -> dict[str, Any]:
    return template["Parameters"][name]  # type: ignore[no-any-return]


def _refused_by_handler(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return True
    return False


def test_the_defaults_are_the_handlers(template: dict[str, Any]) -> None:
    assert _parameter(template, "Renditions")["Default"] == renditions_value(DEFAULT_RENDITIONS)
    assert _parameter(template, "OutputFormats")["Default"] == ",".join(DEFAULT_OUTPUT_FORMATS)


def test_the_constraints_say_what_the_handler_allows(template: dict[str, Any]) -> None:
    assert _parameter(template, "Renditions")["ConstraintDescription"] == f"{RENDITIONS_GRAMMAR}."
    assert _parameter(template, "OutputFormats")["ConstraintDescription"] == f"{OUTPUT_FORMATS_GRAMMAR}."


RENDITION_VALUES = [
    "large=1024x768",
    "large=1024x768,medium=640x640,thumbnail=256x256",
    ",".join(f"r{n}=100x100" for n in range(MAX_RENDITIONS)),
    "a-b-c=4096x32",
    "large",
    "large=1024x768,",
    "Large=1024x768",
    "1st=100x100",
    "large=1024x768;thumbnail=256x256",
    "large=1024X768",
    ",".join(f"r{n}=100x100" for n in range(MAX_RENDITIONS + 1)),
    f"{'a' * 33}=100x100",
]


@pytest.mark.parametrize("value", RENDITION_VALUES)
def test_the_renditions_pattern_refuses_what_the_handler_cannot_read(
    template: dict[str, Any], value: str
) -> None:
    """The pattern cannot count pixels or find a repeated name: those the handler refuses at its cold start
    (and the deploy harness before it, with the same parser)."""
    allowed = re.fullmatch(_parameter(template, "Renditions")["AllowedPattern"], value) is not None
    assert allowed == (not _refused_by_handler(parse_renditions, value)), value


@pytest.mark.parametrize(
    "value", ["JPEG", "WEBP", "JPEG,WEBP", "JPEG,WEBP,AVIF", "GIF", "JPEG,", "jpeg", "JPEG,PNG", "JPEG WEBP"]
)
def test_the_formats_pattern_allows_exactly_the_known_names(template: dict[str, Any], value: str) -> None:
    allowed = re.fullmatch(_parameter(template, "OutputFormats")["AllowedPattern"], value) is not None
    upper_only = value == value.upper()
    assert allowed == (upper_only and not _refused_by_handler(parse_output_formats, value)), value


def test_what_the_pattern_lets_through_the_handler_still_refuses(template: dict[str, Any]) -> None:
    pattern = _parameter(template, "Renditions")["AllowedPattern"]
    for value in (f"tiny={MIN_DIMENSION - 1}x64", f"huge=100x{MAX_DIMENSION + 1}", "a=100x100,a=200x200"):
        assert re.fullmatch(pattern, value)
        assert _refused_by_handler(parse_renditions, value)


def test_the_function_reads_both_lists_from_their_parameters(template: dict[str, Any]) -> None:
    variables = template["Resources"]["ProcessingFunction"]["Properties"]["Environment"]["Variables"]
    assert variables[EnvVar.RENDITIONS] == {"Ref": "Renditions"}
    assert variables[EnvVar.OUTPUT_FORMATS] == {"Ref": "OutputFormats"}


def _granted(template: dict[str, Any], renditions: str) -> list[str]:
    policies = template["Resources"]["FunctionRole"]["Properties"]["Policies"]
    [statement] = [
        s
        for p in policies
        for s in p["PolicyDocument"]["Statement"]
        if isinstance(s, dict) and s.get("Sid") == GRANT
    ]
    return resolve_value(template, statement["Resource"], {"Renditions": renditions})  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "renditions",
    [
        renditions_value(DEFAULT_RENDITIONS),
        "large=1024x768",
        "large=1024x768,medium=640x640,thumbnail=256x256",
        ",".join(f"r{n}=100x100" for n in range(MAX_RENDITIONS)),
    ],
)
def test_the_role_reads_and_writes_exactly_one_prefix_per_rendition(
    template: dict[str, Any], renditions: str
) -> None:
    names = [spec.name for spec in parse_renditions(renditions)]
    assert _granted(template, renditions) == [f"{PROCESSED_ARN}/{name}/*" for name in names]


def test_the_dashboard_says_which_renditions_in_which_formats(template: dict[str, Any]) -> None:
    parameters = {"Renditions": "large=1024x768,medium=640x640", "OutputFormats": "JPEG,WEBP"}
    body = resolve_value(
        template, template["Resources"]["Dashboard"]["Properties"]["DashboardBody"], parameters
    )
    [overview] = [w for w in json.loads(body)["widgets"] if w["type"] == "text"]

    assert "large=1024x768,medium=640x640" in overview["properties"]["markdown"]
    assert "each in JPEG,WEBP" in overview["properties"]["markdown"]
