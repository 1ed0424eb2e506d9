"""Make moto's CloudFormation behave as CloudFormation does where the harness depends on it.

- Change sets: moto (5.2) applies a change set to the stack's resources but never rebuilds the stack's output
  map, so a stack created or updated through a change set describes no Outputs at all. The harness deploys
  only through change sets (locally and on AWS).
- Fn::FindInMap: moto turns `Number` parameters into Python ints, so a map keyed by a parameter's value
  ("60") is looked up with 60 and fails; CloudFormation passes every parameter value as a string.

`patch_moto()` installs both into the moto process (the deploy tests' and the local stack's).
"""

from __future__ import annotations

from typing import Any

_PATCHED_FLAG = "_photopipe_patched"


def patch_change_set_outputs() -> None:
    """Idempotent: after ChangeSet.apply, re-parse the stack's template and rebuild its outputs."""
    from moto.cloudformation import models

    change_set_class: Any = models.ChangeSet
    if getattr(change_set_class, _PATCHED_FLAG, False):
        return
    original = change_set_class.apply

    def apply(self: Any) -> None:
        original(self)
        stack = self.stack
        stack.template = self.template
        stack._parse_template()
        stack.output_map = stack._create_output_map()

    change_set_class.apply = apply
    setattr(change_set_class, _PATCHED_FLAG, True)


def _map_key(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return value


def patch_find_in_map_keys() -> None:
    """Idempotent: look Fn::FindInMap keys up as strings, as CloudFormation does."""
    from moto.cloudformation import parsing

    if getattr(parsing.clean_json, _PATCHED_FLAG, False):
        return
    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::FindInMap" in resource_json:
            map_name, *path = resource_json["Fn::FindInMap"]
            result = resources_map[original(map_name, resources_map)]
            for key in path:
                result = result[_map_key(clean_json(key, resources_map))]
            return result
        return original(resource_json, resources_map)

    setattr(clean_json, _PATCHED_FLAG, True)
    parsing.clean_json = clean_json


def patch_moto() -> None:
    patch_change_set_outputs()
    patch_find_in_map_keys()
