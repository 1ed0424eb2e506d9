"""Deletion propagation in the template: the removals reach the queue, the role may delete renditions and
nothing else, the function is told, and the dashboard counts it; all of it only while DeletionPropagation is
Enabled (the default)."""

from __future__ import annotations

import json
from typing import Any

from handler.constants import (
    DELETION_PROPAGATION_DISABLED,
    DELETION_PROPAGATION_ENABLED,
    DELETION_PROPAGATION_VALUES,
    EnvVar,
    MetricName,
    SkipReason,
)

from .cfn import walk

NO_VALUE = {"Ref": "AWS::NoValue"}


def _role_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    policies = resources["FunctionRole"]["Properties"]["Policies"]
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def test_the_parameter_offers_the_handlers_values_and_defaults_to_enabled(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["DeletionPropagation"]

    assert parameter["AllowedValues"] == list(DELETION_PROPAGATION_VALUES)
    assert parameter["Default"] == DELETION_PROPAGATION_ENABLED
    assert template["Conditions"]["PropagatesDeletions"] == {
        "Fn::Equals": [{"Ref": "DeletionPropagation"}, DELETION_PROPAGATION_ENABLED]
    }
    assert DELETION_PROPAGATION_DISABLED in parameter["Description"]


def test_removals_reach_the_same_queue_through_the_same_filter(resources: dict[str, Any]) -> None:
    notification = resources["UploadBucket"]["Properties"]["NotificationConfiguration"]
    created, conditional = notification["QueueConfigurations"]
    condition, removed, otherwise = conditional["Fn::If"]

    assert condition == "PropagatesDeletions"
    assert otherwise == NO_VALUE
    assert removed == {**created, "Event": "s3:ObjectRemoved:*"}


def test_the_role_may_delete_exactly_the_renditions_it_may_write_and_only_when_enabled(
    resources: dict[str, Any],
) -> None:
    (renditions,) = [s for s in _role_statements(resources) if s.get("Sid") == "ReadAndWriteRenditions"]
    condition, enabled, disabled = renditions["Action"]["Fn::If"]

    assert condition == "PropagatesDeletions"
    assert set(enabled) - set(disabled) == {"s3:DeleteObject"}
    assert "s3:DeleteObject" not in disabled


def test_no_other_statement_of_the_role_can_delete_anything(resources: dict[str, Any]) -> None:
    for statement in _role_statements(resources):
        if statement.get("Sid") == "ReadAndWriteRenditions":
            continue
        deletes = [node for node in walk(statement) if isinstance(node, str) and "Delete" in node]
        assert deletes in ([], ["sqs:DeleteMessage"]), statement


def test_the_function_is_told_the_setting(resources: dict[str, Any]) -> None:
    variables = resources["ProcessingFunction"]["Properties"]["Environment"]["Variables"]
    assert variables[EnvVar.DELETION_PROPAGATION] == {"Ref": "DeletionPropagation"}


def test_the_dashboard_counts_deletions_and_the_removals_it_kept(resources: dict[str, Any]) -> None:
    widgets = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][1]
    widget = json.loads(widgets["Deletions"]["Fn::Sub"])
    metrics = json.dumps(widget["properties"]["metrics"])

    assert widget["properties"]["title"].startswith("Deletions")
    for shown in (MetricName.PROCESSED_DELETIONS, SkipReason.STALE_REMOVAL, SkipReason.OBJECT_GONE):
        assert f'"{shown}"' in metrics
