"""Named deploy environments from `photopipe.toml`: the stack name, region, profile, parameters and tags of
each, so `photopipe deploy --env staging` says once what a team would otherwise retype on every command.

    [environments.staging]
    stack_name = "photopipe-staging"
    region = "eu-west-1"
    parameters = { NamePrefix = "pp-staging", MemorySize = 1024 }
    tags = { team = "photos" }
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from harness.params import InvalidInputError, validate_region, validate_stack_name
from harness.tags import validate_tags

CONFIG_FILE: Final = "photopipe.toml"
KEYS: Final = frozenset({"stack_name", "region", "profile", "parameters", "tags"})


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    stack_name: str | None = None
    region: str | None = None
    profile: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def _text(value: Any) -> str:
    """TOML gives numbers and booleans; CloudFormation parameters and tags are strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise InvalidInputError(f"{value!r} is not a string, number or boolean")


def _table(where: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{where} must be a table of KEY = value")
    try:
        return {str(key): _text(item) for key, item in value.items()}
    except InvalidInputError as exc:
        raise InvalidInputError(f"{where}: {exc}") from None


def parse_environments(data: Mapping[str, Any], source: str = CONFIG_FILE) -> dict[str, Environment]:
    """Every problem is named with its place in the file (`environments.staging.region`)."""
    unknown_top = sorted(set(data) - {"environments"})
    if unknown_top:
        raise InvalidInputError(f"{source}: unknown table(s) {', '.join(unknown_top)}; allowed: environments")
    tables = data.get("environments", {})
    if not isinstance(tables, Mapping):
        raise InvalidInputError(f"{source}: environments must be a table of named environments")
    environments: dict[str, Environment] = {}
    for name, spec in tables.items():
        where = f"{source}: environments.{name}"
        if not isinstance(spec, Mapping):
            raise InvalidInputError(f"{where} must be a table")
        unknown = sorted(set(spec) - KEYS)
        if unknown:
            raise InvalidInputError(
                f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(KEYS))}"
            )
        stack_name = spec.get("stack_name")
        region = spec.get("region")
        try:
            if stack_name is not None:
                validate_stack_name(str(stack_name))
            if region is not None:
                validate_region(str(region))
            tags = validate_tags(_table(f"{where}.tags", spec.get("tags", {})))
        except InvalidInputError as exc:
            raise InvalidInputError(f"{where}: {exc}") from None
        environments[str(name)] = Environment(
            name=str(name),
            stack_name=None if stack_name is None else str(stack_name),
            region=None if region is None else str(region),
            profile=None if spec.get("profile") is None else str(spec["profile"]),
            parameters=_table(f"{where}.parameters", spec.get("parameters", {})),
            tags=tags,
        )
    return environments


def load_environment(name: str, path: Path = Path(CONFIG_FILE)) -> Environment:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(
            f"--env {name}: {path} does not exist (see the README for its format)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid TOML: {exc}") from None
    environments = parse_environments(data, str(path))
    if name not in environments:
        known = ", ".join(sorted(environments)) or "none"
        raise InvalidInputError(f"--env {name}: no such environment in {path}; defined: {known}")
    return environments[name]
