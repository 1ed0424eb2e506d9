"""Resolve template values the way CloudFormation does, against what the stack actually created.

moto's CloudFormation creates resources but skips some of their properties; the wiring re-applies those from
the same template, so their values must be resolved with the stack's real physical ids, parameters and
attributes. Pure: every lookup of the live stack goes through the `Lookups` the caller passes.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

NO_VALUE: Final = "AWS::NoValue"
_SUB_VARIABLE: Final = re.compile(r"\$\{([^}!][^}]*)\}")


class ResolveError(ValueError):
    """A value the resolver cannot compute (unknown reference, function or attribute)."""


class _Removed:
    """AWS::NoValue: the property or list item disappears."""


REMOVED: Final = _Removed()


@dataclass
class Lookups:
    parameters: Mapping[str, str]
    pseudo: Mapping[str, str]
    physical_ids: Mapping[str, str]
    get_att: Callable[[str, str], Any]
    mappings: Mapping[str, Any] = field(default_factory=dict)
    conditions: Mapping[str, Any] = field(default_factory=dict)


def parameter_values(template: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, str]:
    """Every declared parameter's value as CloudFormation passes it: given or default, as text."""
    values: dict[str, str] = {}
    for name, spec in template.get("Parameters", {}).items():
        if name in given:
            values[name] = str(given[name])
        elif "Default" in spec:
            values[name] = str(spec["Default"])
    return values


class Resolver:
    def __init__(self, template: Mapping[str, Any], lookups: Lookups) -> None:
        self.template = template
        self.lookups = lookups
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions", {})
            if name not in conditions:
                raise ResolveError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    def resource_exists(self, logical_id: str) -> bool:
        spec = self.template["Resources"][logical_id]
        return "Condition" not in spec or self.condition(spec["Condition"])

    def properties(self, logical_id: str) -> dict[str, Any]:
        value = self.resolve(self.template["Resources"][logical_id].get("Properties", {}))
        return value if isinstance(value, dict) else {}

    def resolve(self, value: Any) -> Any:
        result = self._resolve(value)
        return None if result is REMOVED else result

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._resolve(item) for item in value]
            return [item for item in items if item is not REMOVED]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Condition":
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument)
        resolved = {key: self._resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not REMOVED}

    def _ref(self, name: str) -> Any:
        if name == NO_VALUE:
            return REMOVED
        if name in self.lookups.pseudo:
            return self.lookups.pseudo[name]
        if name in self.lookups.parameters:
            value = self.lookups.parameters[name]
            spec = self.template.get("Parameters", {}).get(name, {})
            if str(spec.get("Type", "")).startswith("List<") or spec.get("Type") == "CommaDelimitedList":
                return value.split(",")
            return value
        if name in self.lookups.physical_ids:
            return self.lookups.physical_ids[name]
        raise ResolveError(f"Ref to {name!r}: not a parameter, pseudo parameter or created resource")

    def _function(self, key: str, argument: Any) -> Any:
        handlers: dict[str, Callable[[Any], Any]] = {
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::If": self._if,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Equals": lambda args: _same(*(self._resolve(item) for item in args)),
            "Fn::Not": lambda args: not self._resolve(args[0]),
            "Fn::And": lambda args: all(self._resolve(item) for item in args),
            "Fn::Or": lambda args: any(self._resolve(item) for item in args),
            "Fn::Base64": lambda arg: base64.b64encode(str(self._resolve(arg)).encode()).decode(),
            "Fn::GetAZs": lambda _arg: [f"{self.lookups.pseudo['AWS::Region']}{zone}" for zone in "abc"],
            "Fn::ToJsonString": lambda arg: _json(self._resolve(arg)),
        }
        if key not in handlers:
            raise ResolveError(f"{key} is not supported by the local stack's resolver")
        return handlers[key](argument)

    def _get_att(self, argument: Any) -> Any:
        if isinstance(argument, str):
            logical_id, attribute = argument.split(".", 1)
        else:
            logical_id, attribute = argument[0], self._resolve(argument[1])
        if logical_id not in self.lookups.physical_ids:
            raise ResolveError(f"Fn::GetAtt {logical_id}.{attribute}: {logical_id} was not created")
        return self.lookups.get_att(logical_id, str(attribute))

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        else:
            text, raw = argument
            variables = {name: self._resolve(value) for name, value in raw.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return str(self._get_att([logical_id, attribute]))
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def _join(self, argument: Any) -> str:
        delimiter, items = argument
        values = self._resolve(items)
        return str(delimiter).join(str(item) for item in values)

    def _if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self._resolve(when_true if self.condition(name) else when_false)

    def _select(self, argument: Any) -> Any:
        index, items = argument
        values = self._resolve(items)
        return values[int(self._resolve(index))]

    def _split(self, argument: Any) -> list[str]:
        delimiter, text = argument
        return str(self._resolve(text)).split(str(delimiter))

    def _find_in_map(self, argument: Any) -> Any:
        map_name, top, second = (self._resolve(item) for item in argument)
        try:
            return self.lookups.mappings[str(map_name)][str(top)][str(second)]
        except KeyError:
            raise ResolveError(f"Fn::FindInMap {map_name}/{top}/{second}: no such entry") from None


def _same(left: Any, right: Any) -> bool:
    """CloudFormation compares parameter text with literals of any type (`0` equals the parameter "0")."""
    return str(left) == str(right)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))
