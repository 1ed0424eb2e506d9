from __future__ import annotations

import pytest

from harness.params import (
    InvalidInputError,
    load_template,
    parse_assignments,
    validate_email,
    validate_parameters,
    validate_region,
    validate_stack_name,
)
from tests.harness.conftest import MINI_TEMPLATE

TEMPLATE = load_template(MINI_TEMPLATE)


@pytest.mark.parametrize("name", ["1photos", "photo_pipe", "", "a" * 129, "photos!"])
def test_stack_names_cloudformation_refuses_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(InvalidInputError, match="letters, digits and hyphens, starting with a letter"):
        validate_stack_name(name)


@pytest.mark.parametrize("name", ["p", "photopipe-prod-2", "A" * 128])
def test_valid_stack_names_pass(name: str) -> None:
    assert validate_stack_name(name) == name


def test_a_malformed_region_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="is not a region name"):
        validate_region("US-WEST-2")


def test_an_unknown_region_is_refused_with_the_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="known regions: eu-west-1, us-west-2"):
        validate_region("us-west-9", ["us-west-2", "eu-west-1"])


def test_a_missing_region_says_where_to_set_it() -> None:
    with pytest.raises(InvalidInputError, match="set AWS_REGION"):
        validate_region(None)


@pytest.mark.parametrize("email", ["ops", "ops@", "ops@example", "o ps@example.com", "a@b@example.com"])
def test_email_addresses_sns_would_refuse_are_refused(email: str) -> None:
    with pytest.raises(InvalidInputError, match="not an address SNS accepts"):
        validate_email(email)


def test_an_empty_email_means_no_subscription() -> None:
    assert validate_email("") == ""


def test_a_value_outside_allowed_values_names_them() -> None:
    with pytest.raises(
        InvalidInputError, match=r"Architecture='arm': not one of AllowedValues arm64, x86_64"
    ):
        validate_parameters({"Architecture": "arm"}, TEMPLATE)


def test_a_value_breaking_the_pattern_names_pattern_and_constraint_description() -> None:
    with pytest.raises(InvalidInputError, match=r"AllowedPattern \[a-z\].*\(lowercase letters"):
        validate_parameters({"NamePrefix": "Photos"}, TEMPLATE)


@pytest.mark.parametrize(
    ("value", "rule"),
    [("64", "below MinValue 128"), ("20000", "above MaxValue 10240"), ("big", "must be a number")],
)
def test_numbers_are_checked_against_their_bounds(value: str, rule: str) -> None:
    with pytest.raises(InvalidInputError, match=rule):
        validate_parameters({"MemorySize": value}, TEMPLATE)


def test_an_unknown_parameter_is_refused_with_the_template_parameters() -> None:
    with pytest.raises(
        InvalidInputError, match=r"Memory is not a parameter of the template; allowed: .*MemorySize"
    ):
        validate_parameters({"Memory": "512"}, TEMPLATE)


def test_the_code_location_cannot_be_passed_by_hand() -> None:
    with pytest.raises(InvalidInputError, match="CodeS3Key is set by deploy"):
        validate_parameters({"CodeS3Key": "x.zip"}, TEMPLATE)


def test_the_notification_email_parameter_is_checked_as_an_email() -> None:
    with pytest.raises(InvalidInputError, match="not an address SNS accepts"):
        validate_parameters({"NotificationEmail": "ops"}, TEMPLATE)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_parameters({"MemorySize": "1", "Architecture": "sparc"}, TEMPLATE)

    assert "MemorySize" in str(caught.value)
    assert "Architecture" in str(caught.value)


def test_valid_parameters_pass_unchanged() -> None:
    given = {
        "MemorySize": "1769",
        "Architecture": "x86_64",
        "NamePrefix": "pics",
        "NotificationEmail": "o@x.io",
    }

    assert validate_parameters(given, TEMPLATE) == given


def test_assignments_split_on_the_first_equals_sign() -> None:
    assert parse_assignments(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}


@pytest.mark.parametrize(("pairs", "rule"), [(["A"], "is not KEY=VALUE"), (["A=1", "A=2"], "given twice")])
def test_malformed_assignments_are_refused(pairs: list[str], rule: str) -> None:
    with pytest.raises(InvalidInputError, match=rule):
        parse_assignments(pairs)
