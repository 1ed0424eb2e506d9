"""Refuse a stack name, region, parameter or email that AWS would refuse, before anything is uploaded.

CloudFormation only checks parameters once the template is submitted, after the artifact upload; checking the
template's own constraints here gives the same verdict earlier and names the rule that was broken.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from handler.config import (
    OUTPUT_FORMATS_GRAMMAR,
    RENDITIONS_GRAMMAR,
    parse_output_formats,
    parse_renditions,
)
from harness.contract import TEMPLATE_PATH, StackParameter

STACK_NAME_PATTERN: Final = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
REGION_PATTERN: Final = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
# Deliberately loose (RFC 5322 is not the point): one @, a dot in the domain, no spaces, SNS's 254-byte cap.
EMAIL_PATTERN: Final = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
BUCKET_NAME_PATTERN: Final = re.compile(r"(?!xn--)(?!sthree-)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Set by deploy from the uploaded artifact; a user value would point the function at other code.
CODE_PARAMETERS: Final = (
    StackParameter.CODE_S3_BUCKET,
    StackParameter.CODE_S3_KEY,
    StackParameter.CODE_S3_OBJECT_VERSION,
)


class InvalidInputError(ValueError):
    """A value AWS would refuse; the message names the value, the rule and what is allowed."""


def validate_stack_name(name: str) -> str:
    if not STACK_NAME_PATTERN.fullmatch(name):
        raise InvalidInputError(
            f"stack name {name!r} is invalid: CloudFormation allows 1-128 characters, letters, digits and "
            "hyphens, starting with a letter"
        )
    return name


def validate_region(region: str | None, known: Iterable[str] = ()) -> str:
    if not region:
        raise InvalidInputError(
            "no region: set AWS_REGION (or AWS_DEFAULT_REGION, a profile's region, or --region)"
        )
    if not REGION_PATTERN.fullmatch(region):
        raise InvalidInputError(f"region {region!r} is not a region name (like us-west-2 or eu-central-1)")
    known_regions = sorted(set(known))
    if known_regions and region not in known_regions:
        raise InvalidInputError(
            f"region {region!r} has no CloudFormation endpoint; known regions: {', '.join(known_regions)}"
        )
    return region


def validate_email(email: str) -> str:
    if email == "":
        return email
    if len(email) > 254 or not EMAIL_PATTERN.fullmatch(email):
        raise InvalidInputError(
            f"email {email!r} is not an address SNS accepts (one '@', a dotted domain, no spaces, "
            "at most 254 characters)"
        )
    return email


def validate_bucket_name(name: str) -> str:
    if not BUCKET_NAME_PATTERN.fullmatch(name) or ".." in name or re.fullmatch(r"[\d.]+", name):
        raise InvalidInputError(
            f"bucket name {name!r} is invalid: 3-63 characters, lowercase letters, digits, dots and hyphens, "
            "starting and ending with a letter or digit"
        )
    return name


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """`K=V` strings (the CLI's --param) to a mapping; the value may be empty and may contain '='."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"parameter {pair!r} is not KEY=VALUE")
        if key in result:
            raise InvalidInputError(f"parameter {key} is given twice")
        result[key] = value
    return result


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"template {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"template {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"template {path} is not a JSON object")
    return data


def template_parameters(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    parameters = template.get("Parameters", {})
    return {name: dict(spec) for name, spec in parameters.items()}


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def check_parameter(name: str, value: str, spec: Mapping[str, Any]) -> list[str]:
    """The rules of one template parameter that `value` breaks (empty when it is acceptable)."""
    problems: list[str] = []
    kind = str(spec.get("Type", "String"))
    hint = f" ({spec['ConstraintDescription']})" if spec.get("ConstraintDescription") else ""
    if kind == "Number":
        number = _number(value)
        if number is None:
            return [f"{name}={value!r}: must be a number{hint}"]
        if "MinValue" in spec and number < float(spec["MinValue"]):
            problems.append(f"{name}={value}: below MinValue {spec['MinValue']}{hint}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            problems.append(f"{name}={value}: above MaxValue {spec['MaxValue']}{hint}")
        allowed = spec.get("AllowedValues")
        if allowed is not None and number not in {float(v) for v in allowed}:
            problems.append(f"{name}={value}: not one of AllowedValues {', '.join(map(str, allowed))}{hint}")
        return problems
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        problems.append(f"{name}={value!r}: shorter than MinLength {spec['MinLength']}{hint}")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        problems.append(f"{name}={value!r}: longer than MaxLength {spec['MaxLength']}{hint}")
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(v) for v in allowed]:
        problems.append(f"{name}={value!r}: not one of AllowedValues {', '.join(map(str, allowed))}{hint}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(str(pattern), value):
        problems.append(f"{name}={value!r}: does not match AllowedPattern {pattern}{hint}")
    return problems


def validate_parameters(
    given: Mapping[str, str],
    template: Mapping[str, Any],
    *,
    reserved: Iterable[str] = CODE_PARAMETERS,
) -> dict[str, str]:
    """Every given parameter must exist in the template and satisfy its constraints; all problems at once."""
    specs = template_parameters(template)
    reserved_names = set(reserved)
    problems: list[str] = []
    for name, value in given.items():
        if name in reserved_names:
            problems.append(f"{name} is set by deploy from the uploaded package; do not pass it")
            continue
        if name not in specs:
            problems.append(f"{name} is not a parameter of the template; allowed: {', '.join(sorted(specs))}")
            continue
        problems.extend(check_parameter(name, value, specs[name]))
        problems.extend(check_with_handler(name, value))
        if name == StackParameter.NOTIFICATION_EMAIL:
            try:
                validate_email(value)
            except InvalidInputError as exc:
                problems.append(str(exc))
    if problems:
        raise InvalidInputError("invalid parameters:\n  " + "\n  ".join(problems))
    return dict(given)


# What an AllowedPattern cannot say (a name used twice, a side outside the limits) the function would refuse
# at its cold start; the deploy refuses it first, with the function's own parser and words.
_HANDLER_PARSERS: Final = {
    StackParameter.RENDITIONS: (parse_renditions, RENDITIONS_GRAMMAR),
    StackParameter.OUTPUT_FORMATS: (parse_output_formats, OUTPUT_FORMATS_GRAMMAR),
}


def check_with_handler(name: str, value: str) -> list[str]:
    """The function's own refusal of a Renditions or OutputFormats value, as a problem line (or none)."""
    if name not in _HANDLER_PARSERS:
        return []
    parse, grammar = _HANDLER_PARSERS[StackParameter(name)]
    try:
        parse(value)
    except ValueError as exc:
        return [f"{name}={value!r}: {exc}; expected {grammar}"]
    return []


def missing_required(given: Iterable[str], template: Mapping[str, Any]) -> list[str]:
    """Template parameters with no Default that a create would need and that were not given."""
    names = set(given)
    return sorted(
        name
        for name, spec in template_parameters(template).items()
        if "Default" not in spec and name not in names
    )
