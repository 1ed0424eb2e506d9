"""The harness's own CloudFormation resolver (harness/emulator/resolve.py) with made-up lookups.

The tests read the template as CloudFormation will: parameters given or defaulted, conditions and Fn::If
evaluated, AWS::NoValue dropped. They use the resolver the local stack wires real stacks with, so the two
can never read the template differently; only the stack's answers (physical ids, attributes) are made up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.emulator.resolve import Lookups, Resolver, parameter_values

PSEUDO_PARAMETERS: dict[str, str] = {
    "AWS::AccountId": "111122223333",
    "AWS::Region": "eu-central-1",
    "AWS::Partition": "aws",
    "AWS::StackName": "photo-stack",
    "AWS::StackId": (
        "arn:aws:cloudformation:eu-central-1:111122223333:stack/photo-stack/0a1b2c3d-0000-4000-8000-000000000000"
    ),
    "AWS::URLSuffix": "amazonaws.com",
}


def fake_resolver(
    template: Mapping[str, Any],
    parameters: Mapping[str, str] | None = None,
    *,
    pseudo: Mapping[str, str] | None = None,
    physical_ids: Mapping[str, str] | None = None,
) -> Resolver:
    """A resolver for `template` deployed with `parameters`: every resource's physical id is
    `<LogicalId>-physical-id` and every attribute `<LogicalId>-<Attribute>` unless given; `pseudo` replaces
    some of PSEUDO_PARAMETERS."""
    lookups = Lookups(
        parameters=parameter_values(template, parameters or {}),
        pseudo={**PSEUDO_PARAMETERS, **(pseudo or {})},
        physical_ids={
            **{name: f"{name}-physical-id" for name in template["Resources"]},
            **(physical_ids or {}),
        },
        get_att=lambda logical_id, attribute: f"{logical_id}-{attribute}",
        mappings=template.get("Mappings", {}),
    )
    return Resolver(template, lookups)


def resolve_value(
    template: Mapping[str, Any], value: Any, parameters: Mapping[str, str] | None = None
) -> Any:
    """`value` (a piece of `template`) as CloudFormation resolves it for these parameters."""
    return fake_resolver(template, parameters).resolve(value)
