"""Reading the template as CloudFormation would: references between resources and intrinsic functions.

Only what the template tests need: the dependency graph (Ref, Fn::GetAtt, Fn::Sub, DependsOn) and ways to
walk the template. Values are resolved by the harness's own resolver with made-up lookups
(tests/support/cfn.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

_SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]+)\}")


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
