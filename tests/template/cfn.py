"""Reading the template as CloudFormation would: references between resources and intrinsic functions.

Only what the template tests need: the dependency graph (Ref, Fn::GetAtt, Fn::Sub, DependsOn) and a small
resolver that evaluates Fn::Sub / Ref / Fn::GetAtt / Fn::FindInMap / Fn::Join with made-up values, so that
strings such as the dashboard body can be parsed as they will be after substitution.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from harness.contract import TEMPLATE_PATH

PSEUDO_PARAMETERS = {
    "AWS::AccountId": "111122223333",
    "AWS::Region": "eu-central-1",
    "AWS::Partition": "aws",
    "AWS::StackName": "photo-stack",
    "AWS::StackId": (
        "arn:aws:cloudformation:eu-central-1:111122223333:stack/photo-stack/0a1b2c3d-0000-4000-8000-000000000000"
    ),
    "AWS::URLSuffix": "amazonaws.com",
}

_SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]+)\}")


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def resources_of_type(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in template["Resources"].items() if spec["Type"] == kind}


def walk(value: Any) -> Iterator[Any]:
    """Every dict, list and scalar inside `value`, depth first."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def strings(value: Any) -> Iterator[str]:
    """Every string in `value`, keys included."""
    for node in walk(value):
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            yield from (key for key in node if isinstance(key, str))


def sub_variables(text: str) -> list[str]:
    """Names used as ${Name} or ${Name.Attribute} in an Fn::Sub string (${!Literal} excluded)."""
    return _SUB_VARIABLE.findall(text)


def referenced_resources(value: Any, resources: set[str]) -> set[str]:
    """Resources that `value` names through Ref, Fn::GetAtt or Fn::Sub (not Fn::Sub's own variables)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= referenced_resources(item, resources)
        return found
    if not isinstance(value, dict):
        return found
    if set(value) == {"Ref"} and isinstance(value["Ref"], str):
        return {value["Ref"]} & resources
    if set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        name = target[0] if isinstance(target, list) else str(target).split(".")[0]
        return {name} & resources
    if set(value) == {"Fn::Sub"}:
        argument = value["Fn::Sub"]
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        names = frozenset(variables)
        for name in sub_variables(text):
            base = name.split(".")[0]
            if base not in names and base in resources:
                found.add(base)
        return found | referenced_resources(list(variables.values()), resources)
    for item in value.values():
        found |= referenced_resources(item, resources)
    return found


def dependency_graph(template: Mapping[str, Any]) -> dict[str, set[str]]:
    """Resource -> the resources CloudFormation must create before it."""
    resources = set(template["Resources"])
    graph: dict[str, set[str]] = {}
    for name, spec in template["Resources"].items():
        depends_on = spec.get("DependsOn", [])
        edges = {depends_on} if isinstance(depends_on, str) else set(depends_on)
        edges |= referenced_resources(spec.get("Properties", {}), resources)
        graph[name] = edges
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One dependency cycle as a path (first node repeated at the end), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


class Resolver:
    """Evaluates intrinsic functions with parameter defaults (or given values) and made-up resource values.

    Fn::If and conditions are not evaluated: callers resolve the branch they mean.
    """

    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, str] | None = None) -> None:
        self.template = template
        self.values: dict[str, str] = dict(PSEUDO_PARAMETERS)
        for name, spec in template.get("Parameters", {}).items():
            if "Default" in spec:
                self.values[name] = str(spec["Default"])
        self.values.update(parameters or {})
        for name in template["Resources"]:
            self.values.setdefault(name, f"{name}-physical-id")

    def attribute(self, resource: str, attribute: str) -> str:
        return f"{resource}-{attribute}"

    def resolve(self, value: Any, local: Mapping[str, str] | None = None) -> Any:
        local = local or {}
        if isinstance(value, list):
            return [self.resolve(item, local) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.values[value["Ref"]]
        if set(value) == {"Fn::GetAtt"}:
            resource, attribute = value["Fn::GetAtt"]
            return self.attribute(resource, attribute)
        if set(value) == {"Fn::FindInMap"}:
            mapping, first, second = (self.resolve(part, local) for part in value["Fn::FindInMap"])
            return self.template["Mappings"][mapping][str(first)][second]
        if set(value) == {"Fn::Select"}:
            index, items = value["Fn::Select"]
            return self.resolve(items, local)[int(index)]
        if set(value) == {"Fn::Split"}:
            separator, text = value["Fn::Split"]
            return str(self.resolve(text, local)).split(separator)
        if set(value) == {"Fn::Join"}:
            separator, items = value["Fn::Join"]
            return separator.join(str(self.resolve(item, local)) for item in items)
        if set(value) == {"Fn::Sub"}:
            argument = value["Fn::Sub"]
            text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            scope = {**local, **{name: str(self.resolve(v, local)) for name, v in variables.items()}}
            return _SUB_VARIABLE.sub(lambda match: self._sub_value(match.group(1), scope), text)
        return {key: self.resolve(item, local) for key, item in value.items()}

    def _sub_value(self, name: str, scope: Mapping[str, str]) -> str:
        if name in scope:
            return scope[name]
        if "." in name and name.split(".")[0] in self.template["Resources"]:
            resource, attribute = name.split(".", 1)
            return self.attribute(resource, attribute)
        return self.values[name]


def resolve_conditionally(
    template: Mapping[str, Any], value: Any, parameters: Mapping[str, str] | None = None
) -> Any:
    """`value` resolved as CloudFormation would for these parameters: conditions evaluated (Fn::Equals,
    Fn::Not, Fn::And, Fn::Or over resolved values), each Fn::If replaced by its branch, and list items that
    come to AWS::NoValue dropped."""
    resolver = Resolver(template, parameters)
    no_value = object()

    def condition(name: str) -> bool:
        return truth(template["Conditions"][name])

    def truth(node: Any) -> bool:
        [(function, argument)] = node.items()
        if function == "Fn::Equals":
            left, right = (resolver.resolve(choose(part)) for part in argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not truth(argument[0])
        if function == "Fn::And":
            return all(truth(part) for part in argument)
        if function == "Fn::Or":
            return any(truth(part) for part in argument)
        if function == "Condition":
            return condition(argument)
        raise ValueError(f"not a condition function: {function}")

    def choose(node: Any) -> Any:
        if isinstance(node, list):
            chosen = [choose(item) for item in node]
            return [item for item in chosen if item is not no_value]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Fn::If"}:
            name, when_true, when_false = node["Fn::If"]
            return choose(when_true if condition(name) else when_false)
        if node == {"Ref": "AWS::NoValue"}:
            return no_value
        return {key: choose(item) for key, item in node.items()}

    return resolver.resolve(choose(value))
