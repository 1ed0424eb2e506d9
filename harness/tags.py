"""Stack tags: the ones every photopipe stack carries, and the checks AWS applies to the ones a user adds.

The project and purpose tags are how `photopipe stacks list/clean` finds test stacks that were left behind,
and how a bill is split by purpose; CloudFormation copies stack tags onto every resource that takes tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from harness.params import InvalidInputError, parse_assignments

PROJECT_TAG: Final = "photopipe:project"
PURPOSE_TAG: Final = "photopipe:purpose"
PROJECT: Final = "photopipe"
PURPOSE_DEPLOY: Final = "deploy"
PURPOSE_ACCEPTANCE: Final = "acceptance"
# CloudFormation: at most 50 stack tags; keys 1-128 and values 0-256 characters; `aws:` is reserved.
MAX_TAGS: Final = 50
MAX_KEY: Final = 128
MAX_VALUE: Final = 256
TAG_TEXT: Final = re.compile(r"[\w\s.:/=+\-@]*", re.UNICODE)


def default_tags(purpose: str = PURPOSE_DEPLOY) -> dict[str, str]:
    return {PROJECT_TAG: PROJECT, PURPOSE_TAG: purpose}


def validate_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Every rule a tag breaks, all at once; the message says what is allowed."""
    problems: list[str] = []
    if len(tags) > MAX_TAGS:
        problems.append(f"{len(tags)} tags: CloudFormation allows at most {MAX_TAGS} per stack")
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_KEY:
            problems.append(f"tag key {key!r}: 1 to {MAX_KEY} characters")
        if key.lower().startswith("aws:"):
            problems.append(f"tag key {key!r}: the aws: prefix is reserved for AWS")
        if len(value) > MAX_VALUE:
            problems.append(f"tag {key}: value longer than {MAX_VALUE} characters")
        for text in (key, value):
            if not TAG_TEXT.fullmatch(text):
                problems.append(f"tag {key}={value!r}: letters, digits, spaces and _ . : / = + - @ only")
                break
    if problems:
        raise InvalidInputError("invalid tags:\n  " + "\n  ".join(problems))
    return dict(tags)


def merge_tags(*layers: Mapping[str, str]) -> dict[str, str]:
    """Later layers win (defaults, then the environment's, then --tags), and the result is validated."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(layer)
    return validate_tags(merged)


def parse_tags(pairs: Iterable[str]) -> dict[str, str]:
    """`K=V` strings (the CLI's --tags) to a mapping, refusing what CloudFormation would refuse."""
    try:
        return validate_tags(parse_assignments(pairs))
    except InvalidInputError as exc:
        raise InvalidInputError(str(exc).replace("parameter", "tag")) from None


def as_cloudformation(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def from_cloudformation(items: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {item["Key"]: item.get("Value", "") for item in items or []}
