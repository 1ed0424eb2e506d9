"""Every parameter is validated, says what it allows, is in the console groups and agrees with the handler."""

from __future__ import annotations

import re
from typing import Any

import pytest

from handler import config, constants
from harness.contract import StackParameter
from harness.params import load_template

VALIDATION_KEYS = {"AllowedPattern", "AllowedValues", "MinValue", "MaxValue"}


def test_the_template_declares_exactly_the_parameters_the_harness_names(template: dict[str, Any]) -> None:
    """Both directions: a parameter the harness names but the template lacks would be refused by
    CloudFormation; one the template adds without the harness naming it is a fact with no home."""
    declared = set(template["Parameters"])
    named = {str(parameter) for parameter in StackParameter}

    assert sorted(named - declared) == [], "named in harness.contract.StackParameter, not in the template"
    assert sorted(declared - named) == [], "in the template, not in harness.contract.StackParameter"


@pytest.mark.parametrize("name", sorted(StackParameter))
def test_every_parameter_is_validated_and_says_what_is_allowed(template: dict[str, Any], name: str) -> None:
    spec = template["Parameters"][name]

    assert VALIDATION_KEYS & set(spec), f"{name} has no AllowedPattern/AllowedValues/MinValue/MaxValue"
    assert spec.get("ConstraintDescription", "").strip(), f"{name} has no ConstraintDescription"
    assert spec.get("Description", "").strip(), f"{name} has no Description"


# The code location has no default: the deploy harness always sets it from the uploaded package.
DEFAULTED = sorted(name for name, spec in load_template()["Parameters"].items() if "Default" in spec)


def test_only_the_code_location_must_be_given(template: dict[str, Any]) -> None:
    assert set(template["Parameters"]) - set(DEFAULTED) == {"CodeS3Bucket", "CodeS3Key"}


@pytest.mark.parametrize("name", DEFAULTED)
def test_every_default_satisfies_its_own_constraint(template: dict[str, Any], name: str) -> None:
    spec = template["Parameters"][name]
    default = spec["Default"]
    if "AllowedValues" in spec:
        assert default in spec["AllowedValues"]
    if "MinValue" in spec:
        assert spec["MinValue"] <= default <= spec["MaxValue"]
    if "AllowedPattern" in spec:
        assert re.fullmatch(spec["AllowedPattern"], default)


@pytest.mark.parametrize("name", sorted(StackParameter))
def test_the_constraint_description_names_what_is_allowed(template: dict[str, Any], name: str) -> None:
    spec = template["Parameters"][name]
    description = spec["ConstraintDescription"]
    named = [*spec.get("AllowedValues", []), *(spec[key] for key in ("MinValue", "MaxValue") if key in spec)]
    missing = [
        value for value in named if not re.search(rf"(?<![\d.]){re.escape(str(value))}(?![\d])", description)
    ]
    assert missing == [], f"{name}: {description!r} does not name {missing}"


def test_the_console_groups_show_every_parameter_once(template: dict[str, Any]) -> None:
    interface = template["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [name for group in interface["ParameterGroups"] for name in group["Parameters"]]

    assert sorted(grouped) == sorted(template["Parameters"])
    assert set(interface["ParameterLabels"]) == set(template["Parameters"])


def _number(template: dict[str, Any], name: str) -> tuple[Any, Any, Any]:
    spec = template["Parameters"][name]
    return spec["Default"], spec["MinValue"], spec["MaxValue"]


def test_the_quality_parameter_uses_the_handlers_default_and_bounds(template: dict[str, Any]) -> None:
    """Renditions and OutputFormats: tests/template/test_renditions.py."""
    assert _number(template, "OutputQuality") == (
        constants.DEFAULT_OUTPUT_QUALITY,
        constants.MIN_OUTPUT_QUALITY,
        constants.MAX_OUTPUT_QUALITY,
    )


def test_limit_parameters_stay_inside_what_the_handler_accepts(template: dict[str, Any]) -> None:
    assert _number(template, "MaxInputBytes") == (
        constants.DEFAULT_MAX_INPUT_BYTES,
        1,
        config.MAX_INPUT_BYTES_CEILING,
    )
    assert _number(template, "MaxPixels") == (constants.DEFAULT_MAX_PIXELS, 1, config.MAX_PIXELS_CEILING)
    assert _number(template, "MaxReceiveCount") == (
        constants.DEFAULT_MAX_RECEIVE_COUNT,
        1,
        config.MAX_RECEIVE_COUNT_CEILING,
    )


def test_runtime_offers_311_to_314_and_defaults_to_an_amazon_linux_2023_runtime(
    template: dict[str, Any],
) -> None:
    runtime = template["Parameters"]["Runtime"]
    assert runtime["AllowedValues"] == ["python3.11", "python3.12", "python3.13", "python3.14"]
    assert runtime["Default"] in {"python3.12", "python3.13"}


def test_architecture_defaults_to_arm64_and_allows_x86_64(template: dict[str, Any]) -> None:
    architecture = template["Parameters"]["Architecture"]
    assert architecture["Default"] == "arm64"
    assert architecture["AllowedValues"] == ["arm64", "x86_64"]


@pytest.mark.parametrize(
    ("prefix", "accepted"),
    [
        ("photopipe", True),
        ("p", True),
        ("team-7", True),
        ("a" * 15, True),
        ("a" * 16, False),
        ("Photopipe", False),
        ("7photos", False),
        ("photos-", False),
        ("photo_pipe", False),
        ("xn--photos", False),
        ("sthree-photos", False),
    ],
)
def test_the_name_prefix_only_allows_valid_bucket_name_starts(
    template: dict[str, Any], prefix: str, accepted: bool
) -> None:
    spec = template["Parameters"]["NamePrefix"]
    matches = bool(re.fullmatch(spec["AllowedPattern"], prefix)) and len(prefix) <= spec["MaxLength"]
    assert matches is accepted


@pytest.mark.parametrize(
    ("email", "accepted"),
    [("", True), ("ops@example.com", True), ("a.b+c@mail.example.org", True), ("ops@", False),
     ("ops example.com", False), ("ops@localhost", False), ("two@@example.com", False)],
)  # fmt: skip
def test_the_email_is_empty_or_an_address(template: dict[str, Any], email: str, accepted: bool) -> None:
    assert (
        bool(re.fullmatch(template["Parameters"]["NotificationEmail"]["AllowedPattern"], email)) is accepted
    )


def test_the_upload_prefix_cannot_smuggle_iam_wildcards(template: dict[str, Any]) -> None:
    pattern = template["Parameters"]["UploadKeyPrefix"]["AllowedPattern"]
    assert re.fullmatch(pattern, "uploads/2026/")
    assert not re.fullmatch(pattern, "uploads/*")
    assert not re.fullmatch(pattern, "up?loads/")
