"""The deploy-time validator read against the real template/template.json (its rules, its dialect)."""

from __future__ import annotations

import pytest

from harness.contract import TEMPLATE_PATH
from harness.params import (
    InvalidInputError,
    check_parameter,
    load_template,
    validate_parameters,
)

TEMPLATE = load_template(TEMPLATE_PATH)
PARAMETERS = TEMPLATE["Parameters"]


@pytest.mark.parametrize("name", sorted(n for n, spec in PARAMETERS.items() if "Default" in spec))
def test_every_default_passes_the_validator(name: str) -> None:
    """A pattern the validator read differently from CloudFormation would refuse the template's default."""
    assert check_parameter(name, str(PARAMETERS[name]["Default"]), PARAMETERS[name]) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NamePrefix", "Photos"),
        ("NamePrefix", "xn--photos"),
        ("OutputFormats", "PNG"),
        ("Renditions", "large=1024x768,Thumb=256x256"),
        ("Timeout", "45"),
        ("MemorySize", "128"),
        ("Runtime", "python3.10"),
        ("Architecture", "aarch64"),
        ("NotificationEmail", "ops@localhost"),
    ],
)
def test_values_cloudformation_would_refuse_are_refused_naming_the_parameter(name: str, value: str) -> None:
    with pytest.raises(InvalidInputError, match=f"{name}="):
        validate_parameters({name: value}, TEMPLATE)


def test_a_typical_production_choice_passes() -> None:
    given = {
        "NamePrefix": "pics",
        "NotificationEmail": "ops@example.com",
        "Runtime": "python3.12",
        "Architecture": "x86_64",
        "OutputFormats": "WEBP,JPEG",
        "Renditions": "large=1600x1200,medium=800x800,thumbnail=200x200",
        "Timeout": "90",
        "MemorySize": "2048",
    }

    assert validate_parameters(given, TEMPLATE) == given


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("large=1024x768,large=640x640", "the name 'large' is used twice"),
        ("large=1024x768,tiny=16x16", "tiny's side of 16 px is out of range"),
    ],
)
def test_renditions_the_pattern_lets_through_are_refused_with_the_functions_reason(
    value: str, why: str
) -> None:
    with pytest.raises(InvalidInputError, match=f"Renditions={value!r}: {why}"):
        validate_parameters({"Renditions": value}, TEMPLATE)
